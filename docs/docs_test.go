package docs

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the guides' snippets and generated blocks from their sources")

var (
	regionStart = regexp.MustCompile(`^\s*// snippet: (\S+)\s*$`)
	regionEnd   = regexp.MustCompile(`^\s*// /snippet\s*$`)
	blockStart  = regexp.MustCompile(`^<!-- (snippet|generated): (\S+) -->$`)
	blockEnd    = regexp.MustCompile(`^<!-- /(snippet|generated) -->$`)
)

// block is what a guide embeds: a fenced block of lang holding text.
type block struct {
	lang, text string
}

func (b block) render() string { return "```" + b.lang + "\n" + b.text + "\n```" }

// regions reads the snippet regions of the package's Go files.
func regions(dir string) (map[string]block, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]block{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(string(src), "\n")
		name, from := "", 0
		for i, l := range lines {
			if m := regionStart.FindStringSubmatch(l); m != nil {
				if name != "" {
					return nil, fmt.Errorf("%s:%d: snippet %q starts inside snippet %q", f, i+1, m[1], name)
				}
				if _, dup := out[m[1]]; dup {
					return nil, fmt.Errorf("%s:%d: snippet %q defined twice", f, i+1, m[1])
				}
				name, from = m[1], i+1
				continue
			}
			if regionEnd.MatchString(l) {
				if name == "" {
					return nil, fmt.Errorf("%s:%d: snippet end without start", f, i+1)
				}
				out[name] = block{lang: "go", text: dedent(lines[from:i])}
				// "// /snippet" right above "// Output:" would make one comment
				// group, and go test would no longer see the Output comment:
				// the example would compile but never run.
				if i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "// Output:") {
					return nil, fmt.Errorf("%s:%d: put a blank line between the end of snippet %q and // Output:", f, i+1, name)
				}
				name = ""
			}
		}
		if name != "" {
			return nil, fmt.Errorf("%s: snippet %q is not closed", f, name)
		}
	}
	return out, nil
}

// dedent removes the indentation every non-blank line shares, and blank
// lines at both ends.
func dedent(lines []string) string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
			continue
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimPrefix(l, prefix)
		if strings.TrimSpace(out[i]) == "" {
			out[i] = ""
		}
	}
	return strings.Join(out, "\n")
}

// sync rewrites the embedded blocks of one guide and reports the names used
// and the blocks that differ from their sources.
func syncGuide(md string, snippets, gen map[string]block) (string, []string, []string, error) {
	lines := strings.Split(md, "\n")
	var out, used, stale []string
	fence := "" // the backticks of the fenced block the scan is in, if any
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		if tick := fenceOf(lines[i]); fence != "" {
			if strings.HasPrefix(tick, fence) && strings.TrimSpace(lines[i]) == tick {
				fence = ""
			}
			continue
		} else if tick != "" {
			fence = tick // markers inside a fenced block are examples, not markers
			continue
		}
		m := blockStart.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		kind, name := m[1], m[2]
		j := i + 1
		for j < len(lines) && !blockEnd.MatchString(lines[j]) {
			if blockStart.MatchString(lines[j]) {
				return "", nil, nil, fmt.Errorf("line %d: %s %q is not closed", i+1, kind, name)
			}
			j++
		}
		if j == len(lines) {
			return "", nil, nil, fmt.Errorf("line %d: %s %q is not closed", i+1, kind, name)
		}
		if e := blockEnd.FindStringSubmatch(lines[j])[1]; e != kind {
			return "", nil, nil, fmt.Errorf("line %d: %s %q closed by /%s", j+1, kind, name, e)
		}
		src := snippets
		if kind == "generated" {
			src = gen
		}
		b, ok := src[name]
		if !ok {
			return "", nil, nil, fmt.Errorf("line %d: no %s named %q", i+1, kind, name)
		}
		used = append(used, kind+":"+name)
		want := b.render()
		if strings.Join(lines[i+1:j], "\n") != want {
			stale = append(stale, fmt.Sprintf("%s %q (line %d)", kind, name, i+1))
		}
		out = append(out, want, lines[j])
		i = j
	}
	return strings.Join(out, "\n"), used, stale, nil
}

// fenceOf returns the backticks that open or close a fenced block on
// line, or "".
func fenceOf(line string) string {
	t := strings.TrimLeft(line, " ")
	n := len(t) - len(strings.TrimLeft(t, "`"))
	if n < 3 {
		return ""
	}
	return t[:n]
}

// TestGuides checks that every snippet and generated block of every guide
// equals its source, and that every source is used; -update rewrites them.
func TestGuides(t *testing.T) {
	snippets, err := regions(".")
	if err != nil {
		t.Fatal(err)
	}
	gen := map[string]block{}
	for name, g := range generators {
		lang, text, err := g()
		if err != nil {
			t.Fatalf("generated %q: %v", name, err)
		}
		gen[name] = block{lang: lang, text: strings.TrimRight(text, "\n")}
	}
	guides, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, g := range guides {
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, names, stale, err := syncGuide(string(src), snippets, gen)
		if err != nil {
			t.Errorf("%s: %v", g, err)
			continue
		}
		for _, n := range names {
			used[n] = true
		}
		if len(stale) == 0 {
			continue
		}
		if *update {
			if err := os.WriteFile(g, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: updated %s", g, strings.Join(stale, ", "))
			continue
		}
		t.Errorf("%s: out of date: %s; run go test ./docs/ -run TestGuides -update", g, strings.Join(stale, ", "))
	}
	var unused []string
	for n := range snippets {
		if !used["snippet:"+n] {
			unused = append(unused, "snippet "+n)
		}
	}
	for n := range gen {
		if !used["generated:"+n] {
			unused = append(unused, "generated "+n)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("not embedded in any guide: %s", strings.Join(unused, ", "))
	}
}

// TestGuideLinks checks that relative links between the guides, and to
// files of the repository, point at something that exists.
func TestGuideLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	guides, _ := filepath.Glob("*.md")
	for _, g := range guides {
		src, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllSubmatch(src, -1) {
			target := string(m[1])
			if strings.Contains(target, "://") {
				continue
			}
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s: broken link %s", g, target)
			}
		}
	}
}

func TestSyncGuide(t *testing.T) {
	snippets := map[string]block{"a": {lang: "go", text: "x := 1"}}
	gen := map[string]block{"g": {lang: "mermaid", text: "flowchart TD"}}
	md := "intro\n````md\n<!-- snippet: a -->\n```go\nexample\n```\n<!-- /snippet -->\n````\n<!-- snippet: a -->\n```go\nold\n```\n<!-- /snippet -->\n<!-- generated: g -->\n<!-- /generated -->\nend"
	got, used, stale, err := syncGuide(md, snippets, gen)
	if err != nil {
		t.Fatal(err)
	}
	want := "intro\n````md\n<!-- snippet: a -->\n```go\nexample\n```\n<!-- /snippet -->\n````\n<!-- snippet: a -->\n```go\nx := 1\n```\n<!-- /snippet -->\n<!-- generated: g -->\n```mermaid\nflowchart TD\n```\n<!-- /generated -->\nend"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !slices.Equal(used, []string{"snippet:a", "generated:g"}) || len(stale) != 2 {
		t.Errorf("used %v stale %v", used, stale)
	}
	if _, _, stale, _ := syncGuide(got, snippets, gen); len(stale) != 0 {
		t.Errorf("not idempotent: %v", stale)
	}
	for _, bad := range []string{
		"<!-- snippet: a -->\n```go\nx\n```",
		"<!-- snippet: nope -->\n<!-- /snippet -->",
		"<!-- snippet: a -->\n<!-- /generated -->",
	} {
		if _, _, _, err := syncGuide(bad, snippets, gen); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
	if d := dedent([]string{"", "\t\tif x {", "\t\t\ty()", "", "\t\t}", ""}); d != "if x {\n\ty()\n\n}" {
		t.Errorf("dedent %q", d)
	}
}
