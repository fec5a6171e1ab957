package notebook

import (
	"bytes"
	"encoding/json"
)

// SchemaID names the JSON Schema of the notebook format.
const SchemaID = "https://benchbook.dev/schema/notebook.schema.json"

// JSONSchema is the notebook format as a JSON Schema (draft-07), made
// from the same declarations `check` validates against, so that editors
// with a TOML language server (taplo, Even Better TOML) complete keys and
// flag a misspelt one as people type. It is stricter in shape than in
// meaning: what a schema cannot say (a {param} of the right type, a
// sweep's values, references between cells) only `benchbook check` says.
func JSONSchema() ([]byte, error) {
	c := Keys()
	root := obj{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"$id":         SchemaID,
		"title":       "benchbook notebook",
		"description": "A benchbook notebook: prose and benchmark cells (docs/notebook-format.md).",
		"type":        "object",
	}
	props := keyProps(c.Top)
	props["params"] = obj{
		"description":          sentence(findKey(c.Top, "params").Doc),
		"type":                 "object",
		"additionalProperties": obj{"type": []string{"string", "integer", "number", "boolean"}},
	}
	props["guests"] = tablesOf(findKey(c.Top, "guests").Doc, kindSwitch("kind", c.Guests, ""))
	props["loads"] = tablesOf(findKey(c.Top, "loads").Doc, kindSwitch("tool", c.Loads, defaultLoadTool))
	props["cells"] = obj{
		"description": sentence(findKey(c.Top, "cells").Doc),
		"type":        "array",
		"minItems":    1,
		"items":       kindSwitch("kind", c.Cells, ""),
	}
	root["properties"] = props
	root["required"] = required(c.Top)
	root["additionalProperties"] = false

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// obj is a JSON object; encoding/json writes its keys sorted, so the
// schema is the same bytes for the same declarations.
type obj = map[string]any

// tablesOf is [section.NAME] tables, each matching one.
func tablesOf(doc string, one obj) obj {
	return obj{
		"description":          sentence(doc),
		"type":                 "object",
		"propertyNames":        obj{"pattern": nameRE.String()},
		"additionalProperties": one,
	}
}

// kindSwitch is a table whose discriminator key (kind, tool) says which
// declaration's keys it may have: one if/then per declaration, each
// closing the table to that declaration's keys so a misspelt key is
// flagged. def is the declaration a table without the key is (the
// builtin tool), or "" when the key is required.
func kindSwitch(key string, decls []Decl, def string) obj {
	names := make([]string, len(decls))
	var all []any
	for i, d := range decls {
		names[i] = d.Name
		cond := obj{"properties": obj{key: obj{"const": d.Name}}, "required": []string{key}}
		if d.Name == def {
			cond = obj{"anyOf": []any{cond, obj{"not": obj{"required": []string{key}}}}}
		}
		then := obj{
			"properties":           keyProps(d.Keys),
			"additionalProperties": false,
		}
		if r := required(d.Keys); len(r) > 0 {
			then["required"] = r
		}
		all = append(all, obj{"if": cond, "then": then})
	}
	out := obj{
		"type":  "object",
		"allOf": all,
		// The discriminator may be a {param}: the switch then closes
		// nothing, and check judges the table.
		"properties": obj{key: anyOf(obj{"enum": names}, paramRef)},
	}
	if def == "" {
		out["required"] = []string{key}
	}
	return out
}

// paramRef is a string that is exactly one {param} reference.
var paramRef = obj{"type": "string", "pattern": `^\{[A-Za-z_][A-Za-z0-9_-]*\}$`}

func anyOf(schemas ...obj) obj {
	l := make([]any, len(schemas))
	for i, s := range schemas {
		l[i] = s
	}
	return obj{"anyOf": l}
}

func required(keys []Key) []string {
	var r []string
	for _, k := range keys {
		if k.Required {
			r = append(r, k.Name)
		}
	}
	return r
}

func keyProps(keys []Key) obj {
	props := obj{}
	for _, k := range keys {
		s := keySchema(k)
		if !k.NoParam && k.Type != TypeTables && k.Type != TypeCells {
			s = anyOf(s, paramRef)
		}
		s["description"] = sentence(k.Doc) + k.constraints()
		if d := k.defaultValue(); d != nil {
			s["default"] = d
		}
		props[k.Name] = s
	}
	return props
}

// keySchema is the JSON Schema of one key's value, without {param}.
func keySchema(k Key) obj {
	switch k.Type {
	case TypeString:
		s := obj{"type": "string"}
		if len(k.OneOf) > 0 {
			s["enum"] = k.OneOf
		}
		if k.Pattern != "" {
			s["pattern"] = k.Pattern
		}
		return s
	case TypeDuration:
		return obj{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	case TypeInt:
		return bounded(obj{"type": "integer"}, k)
	case TypeFloat:
		return bounded(obj{"type": "number"}, k)
	case TypeBool:
		return obj{"type": "boolean"}
	case TypeDate:
		// A TOML date or date-time; taplo hands it to the schema as a
		// string in RFC 3339 form.
		return obj{"type": "string", "anyOf": []any{obj{"format": "date"}, obj{"format": "date-time"}}}
	case TypeStrings:
		return obj{"type": "array", "items": anyOf(obj{"type": "string"}, paramRef)}
	case TypeStringOrStrings:
		return anyOf(obj{"type": "string"}, obj{"type": "array", "items": obj{"type": "string"}})
	case TypeStringMap:
		return obj{"type": "object", "additionalProperties": obj{"type": "string"}}
	case TypeSweep:
		return obj{"type": "object", "additionalProperties": obj{"type": "array", "minItems": 1}}
	case TypeTableArray:
		return obj{"type": "array", "items": obj{"type": "object", "properties": keyProps(k.Sub), "required": required(k.Sub), "additionalProperties": false}}
	case TypeRepeat:
		return anyOf(bounded(obj{"type": "integer"}, k), obj{"type": "object", "properties": keyProps(repeatKeys), "required": required(repeatKeys), "additionalProperties": false})
	case TypeMetricTable:
		entry := obj{
			"type": "object",
			"properties": obj{
				"json": obj{"type": "string"}, "regex": obj{"type": "string"},
				"unit": obj{"type": "string"}, "better": obj{"enum": []string{BetterHigher, BetterLower}},
				"doc": obj{"type": "string"},
			},
			"additionalProperties": false,
		}
		return obj{"type": "object", "additionalProperties": entry}
	}
	return obj{"type": "object"}
}

// bounded adds Min and Max to a number's schema.
func bounded(s obj, k Key) obj {
	if lo, ok := k.bound(k.Min); ok {
		s["minimum"] = lo
	}
	if hi, ok := k.bound(k.Max); ok {
		s["maximum"] = hi
	}
	return s
}
