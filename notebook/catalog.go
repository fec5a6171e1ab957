package notebook

import (
	"fmt"
	"strings"
)

// Catalog is every key of the format, as declared: the notebook's own
// (top level, cells) and those of each guest kind and load tool.
type Catalog struct {
	Top    []Key
	Cells  []Decl // one per cell kind
	Guests []Decl // one per guest kind
	Loads  []Decl // one per load tool
}

// Keys returns the catalog this build of benchbook validates against.
func Keys() Catalog {
	c := Catalog{Top: topKeys, Loads: loadTools}
	for _, kind := range CellKinds {
		c.Cells = append(c.Cells, Decl{Name: kind, Keys: cellKeys[kind]})
	}
	c.Guests = guestKinds
	return c
}

// KeyTable writes keys as a Markdown table (key, type, default, meaning),
// in the order declared: the form of the docs' key tables, which are made
// from the declarations and checked by a test, never edited by hand.
func KeyTable(keys []Key) string {
	var b strings.Builder
	b.WriteString("| key | type | default | meaning |\n| --- | --- | --- | --- |\n")
	for _, k := range keys {
		def := "none"
		switch {
		case k.Required:
			def = "**required**"
		case k.Default != "":
			def = "`" + k.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, docType(k), def, mdEscape(sentence(k.Doc)+k.constraints()))
	}
	return b.String()
}

// docType is the type column of a key table.
func docType(k Key) string {
	t := strings.TrimPrefix(strings.TrimPrefix(k.Type.String(), "a "), "an ")
	if !k.NoParam && k.Type != TypeTables && k.Type != TypeCells {
		t += ", or {param}"
	}
	return t
}

// constraints says in words which values the key accepts beyond its type.
func (k Key) constraints() string {
	var parts []string
	if len(k.OneOf) > 0 {
		q := make([]string, len(k.OneOf))
		for i, v := range k.OneOf {
			q[i] = "`" + v + "`"
		}
		parts = append(parts, "One of "+strings.Join(q, ", ")+".")
	}
	switch {
	case k.Min != "" && k.Max != "":
		parts = append(parts, fmt.Sprintf("From %s to %s.", k.Min, k.Max))
	case k.Min != "":
		parts = append(parts, fmt.Sprintf("At least %s.", k.Min))
	case k.Max != "":
		parts = append(parts, fmt.Sprintf("At most %s.", k.Max))
	}
	if k.Pattern != "" && k.Help != "" {
		parts = append(parts, sentence(strings.TrimPrefix(k.Help, "want ")))
	}
	if k.Excludes != "" {
		parts = append(parts, fmt.Sprintf("Not together with `%s`.", k.Excludes))
	}
	if k.AtMost != "" {
		parts = append(parts, fmt.Sprintf("At most `%s`.", k.AtMost))
	}
	if k.Step != "" {
		parts = append(parts, fmt.Sprintf("Whole multiples of %s.", k.Step))
	}
	if name, values, ok := strings.Cut(k.When, "="); ok {
		parts = append(parts, fmt.Sprintf("Only with `%s = %s`.", name, strings.ReplaceAll(values, "|", " or ")))
	}
	for _, r := range k.Refuses {
		parts = append(parts, fmt.Sprintf("Not `%s` with %s `%s`.", r.Value, r.Key, r.Is))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// mdEscape keeps a cell of a Markdown table one cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
