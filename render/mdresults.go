package render

import (
	"fmt"
	"strings"
)

// markdownBench is a bench cell's one-paragraph summary.
func markdownBench(v *benchView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Benchmark %s**", mdCode(v.ID))
	if v.Title != "" {
		fmt.Fprintf(&b, " (%s)", mdEscape(v.Title))
	}
	fmt.Fprintf(&b, ": %s.", mdEscape(v.Setup))
	if v.Ran != "" {
		fmt.Fprintf(&b, " Ran %s", mdEscape(v.Ran))
		if v.Fresh {
			b.WriteString("; the results are fresh.")
		} else {
			fmt.Fprintf(&b, "; the results are stale: %s.", mdEscape(v.Stale))
		}
		if v.Env != "" {
			fmt.Fprintf(&b, " Note: the environment %s.", mdEscape(v.Env))
		}
	}
	b.WriteString("\n")
	if v.Desc != "" {
		fmt.Fprintf(&b, "\n%s\n", mdEscape(v.Desc))
	}
	for _, g := range v.Guests {
		if g.Status != "ok" {
			fmt.Fprintf(&b, "\n> **%s %s:** %s\n", mdEscape(g.Name), mdEscape(g.Status), mdEscape(g.Reason))
		}
	}
	if v.Failure != "" {
		fmt.Fprintf(&b, "\n> **Warning:** %s.\n", mdEscape(v.Failure))
	}
	b.WriteString(markdownRunNotes(v))
	return b.String()
}

// markdownFigure shows the PNG, which every Markdown viewer displays.
// markdownLinks is " Data: [CSV](x.csv) · [results (JSON)](results-x.json)", or "".
func markdownLinks(l *dataLinks) string {
	if l == nil {
		return ""
	}
	return fmt.Sprintf(" Data: [CSV](%s) · [results (JSON)](%s)", l.CSV, l.JSON)
}

func markdownFigure(f *figure) string {
	return fmt.Sprintf("![%s](%s)\n\n*%s*%s\n", mdEscape(f.Alt), f.PNGFile(), mdEscape(f.Caption), markdownLinks(f.Links)) + markdownEnvDiffs(f.EnvDiffs)
}

// markdownEnvDiffs is the "environment differences" list under a table or
// plot of several machines side by side; "" for one machine.
func markdownEnvDiffs(diffs []string) string {
	if len(diffs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nEnvironment differences between the machines:\n\n")
	for _, d := range diffs {
		fmt.Fprintf(&b, "- %s\n", mdEscape(d))
	}
	return b.String()
}

func markdownTable(t *tableView) string {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", mdEscape(t.Title))
	}
	b.WriteString("| Guest |")
	for _, m := range t.Metrics {
		fmt.Fprintf(&b, " %s |", mdCell(m))
	}
	b.WriteString(" Repeats |\n|---|")
	for range t.Metrics {
		b.WriteString("---:|")
	}
	b.WriteString("---:|\n")
	for _, row := range t.Rows {
		label := mdCell(row.guestLabel())
		if row.Warning != "" {
			label += " ⚠"
		}
		fmt.Fprintf(&b, "| %s |", label)
		if row.Status != "ok" {
			for i := range t.Metrics {
				if i == 0 {
					fmt.Fprintf(&b, " %s |", mdCell(row.StatusText()))
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString(" 0 |\n")
			continue
		}
		for _, c := range row.Cells {
			s := c.Value
			if c.Spread != "" {
				s += " " + c.Spread
			}
			if c.Ratio != "" {
				s += " (" + c.Ratio + ")"
			}
			fmt.Fprintf(&b, " %s |", mdCell(s))
		}
		fmt.Fprintf(&b, " %d |\n", row.Repeats)
	}
	if cap := t.CaptionText(); cap != "" {
		fmt.Fprintf(&b, "\n*%s*%s\n", mdEscape(cap), markdownLinks(t.Links))
	} else if t.Links != nil {
		fmt.Fprintf(&b, "\n%s\n", markdownLinks(t.Links)[1:])
	}
	for _, row := range t.Rows {
		if row.Warning != "" {
			fmt.Fprintf(&b, "\n⚠ %s: %s\n", mdEscape(row.guestLabel()), mdEscape(row.Warning))
		}
	}
	b.WriteString(markdownEnvDiffs(t.EnvDiffs))
	return b.String()
}

// mdCell escapes a table cell: pipes would end it.
func mdCell(s string) string { return strings.ReplaceAll(mdEscape(s), "|", `\|`) }

func markdownAppendix(a *appendixView) string {
	var b strings.Builder
	b.WriteString("## Reproducibility\n")
	for _, c := range a.Cells {
		fmt.Fprintf(&b, "\n### Bench cell %s\n\n", mdCode(c.ID))
		fmt.Fprintf(&b, "- State: %s\n", mdEscape(c.State))
		if c.Ran != "" {
			fmt.Fprintf(&b, "- Ran: %s\n", mdEscape(c.Ran))
		}
		if c.Env != "" {
			fmt.Fprintf(&b, "- Environment: %s\n", mdEscape(c.Env))
		}
		fmt.Fprintf(&b, "- Input hash: %s\n", mdCode(c.Hash))
		if c.Params != "" {
			fmt.Fprintf(&b, "- Params: %s\n", mdCode(c.Params))
		}
		if c.Failure != "" {
			fmt.Fprintf(&b, "- Last failed run: %s\n", mdEscape(c.Failure))
		}
		fmt.Fprintf(&b, "- Rerun: %s\n", mdCode(c.Rerun))
		if len(c.Machine) > 0 {
			b.WriteString("\n| Machine | |\n|---|---|\n")
			for _, kv := range c.Machine {
				fmt.Fprintf(&b, "| %s | %s |\n", mdCell(kv.K), mdCell(kv.V))
			}
		}
		if len(c.Tools) > 0 {
			b.WriteString("\n| Tool | Version |\n|---|---|\n")
			for _, kv := range c.Tools {
				fmt.Fprintf(&b, "| %s | %s |\n", mdCell(kv.K), mdCell(kv.V))
			}
		}
		for _, g := range c.Guests {
			fmt.Fprintf(&b, "\n**Guest %s** (%s): %s", mdCode(g.Name), mdEscape(g.Kind), mdEscape(g.Status))
			if g.Reason != "" {
				fmt.Fprintf(&b, ": %s", mdEscape(firstLine(g.Reason)))
			}
			b.WriteString("\n")
			for _, kv := range g.Facts {
				fmt.Fprintf(&b, "- %s: %s\n", mdEscape(kv.K), mdEscape(kv.V))
			}
			if g.XML != "" {
				b.WriteString("\n<details><summary>libvirt domain XML</summary>\n\n```xml\n" + strings.ReplaceAll(g.XML, "```", "` ` `") + "\n```\n\n</details>\n")
			}
			if len(g.Commands) > 0 {
				b.WriteString("\n```sh\n")
				for _, cmd := range g.Commands {
					b.WriteString(strings.ReplaceAll(cmd, "```", "` ` `") + "\n")
				}
				b.WriteString("```\n")
			}
		}
	}
	return b.String()
}
