package asl

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Mermaid renders the machine as a Mermaid flowchart: one node per state
// (shaped by type), solid edges for Next, labelled edges for Choice rules and
// Default, dashed labelled edges for Catch, and subgraphs for the branches of
// Parallel states and the item processors of Map states. It tolerates
// invalid definitions: transitions to missing states are drawn to a node
// of their own.
func Mermaid(sm *StateMachine) string {
	g := &mermaid{ids: map[string]string{}}
	g.line(0, "flowchart TD")
	if sm == nil {
		return g.b.String()
	}
	g.line(1, "%s((start))", mermaidStart)
	g.line(1, "%s((end))", mermaidEnd)
	g.machine(sm, "", 1)
	if sm.StartAt != "" {
		g.line(1, "%s --> %s", mermaidStart, g.id("", sm.StartAt))
	}
	g.edges(sm, "", 1, true)
	return g.b.String()
}

const (
	mermaidStart = "start__"
	mermaidEnd   = "end__"
)

type mermaid struct {
	b   strings.Builder
	ids map[string]string // scope + "\x00" + state name -> node id
	n   int
}

func (g *mermaid) line(indent int, format string, args ...any) {
	g.b.WriteString(strings.Repeat("    ", indent))
	fmt.Fprintf(&g.b, format, args...)
	g.b.WriteByte('\n')
}

// id returns the node id of a state in a scope (the nesting path).
func (g *mermaid) id(scope, name string) string {
	key := scope + "\x00" + name
	if id, ok := g.ids[key]; ok {
		return id
	}
	g.n++
	id := fmt.Sprintf("s%d", g.n)
	g.ids[key] = id
	return id
}

var mermaidEscaper = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ", "\r", " ", "|", "#124;", "#", "#35;")

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return mermaidEscaper.Replace(s)
}

func (g *mermaid) machine(sm *StateMachine, scope string, indent int) {
	if scope != "" {
		if _, ok := sm.States[sm.StartAt]; ok {
			g.line(indent, "%s((start))", g.id(scope, "\x00start"))
		}
	}
	for _, name := range sm.StateNames() {
		st := sm.States[name]
		id := g.id(scope, name)
		label := mermaidText(name)
		if st == nil {
			g.line(indent, `%s["%s"]`, id, label)
			continue
		}
		switch st.Type {
		case TypeParallel:
			g.line(indent, `subgraph %s ["%s (Parallel)"]`, id, label)
			g.line(indent+1, "direction TB")
			for i, br := range st.Branches {
				if br == nil {
					continue
				}
				bscope := fmt.Sprintf("%s/%s/%d", scope, name, i)
				g.line(indent+1, `subgraph %s_b%d ["branch %d"]`, id, i+1, i+1)
				g.machine(br, bscope, indent+2)
				g.line(indent+1, "end")
			}
			g.line(indent, "end")
		case TypeMap:
			mode := ""
			proc := st.Processor()
			if proc != nil && proc.ProcessorConfig != nil && proc.ProcessorConfig.Mode == ModeDistributed {
				mode = ", distributed"
			}
			g.line(indent, `subgraph %s ["%s (Map%s)"]`, id, label, mode)
			g.line(indent+1, "direction TB")
			if proc != nil {
				g.machine(proc, scope+"/"+name, indent+1)
			}
			g.line(indent, "end")
		case TypeChoice:
			g.line(indent, `%s{"%s"}`, id, label)
		case TypeWait:
			g.line(indent, `%s[/"%s"/]`, id, label)
		case TypePass:
			g.line(indent, `%s("%s")`, id, label)
		case TypeSucceed:
			g.line(indent, `%s(["%s"])`, id, label)
		case TypeFail:
			g.line(indent, `%s[["%s"]]`, id, label)
		default:
			g.line(indent, `%s["%s"]`, id, label)
		}
	}
}

// edges draws the transitions of a machine and of its nested machines. Only
// the top-level machine's terminal states lead to the end node.
func (g *mermaid) edges(sm *StateMachine, scope string, indent int, top bool) {
	target := func(name string) string {
		key := scope + "\x00" + name
		if _, ok := sm.States[name]; !ok {
			if _, drawn := g.ids[key]; !drawn {
				id := g.id(scope, name)
				g.line(indent, `%s["%s (missing)"]`, id, mermaidText(name))
				return id
			}
		}
		return g.id(scope, name)
	}
	for _, name := range sm.StateNames() {
		st := sm.States[name]
		if st == nil {
			continue
		}
		id := g.id(scope, name)
		switch st.Type {
		case TypeParallel:
			for i, br := range st.Branches {
				if br != nil {
					g.nested(br, fmt.Sprintf("%s/%s/%d", scope, name, i), indent)
				}
			}
		case TypeMap:
			if proc := st.Processor(); proc != nil {
				g.nested(proc, scope+"/"+name, indent)
			}
		}
		if st.Next != "" {
			g.line(indent, "%s --> %s", id, target(st.Next))
		}
		if top && (st.End || st.Type == TypeSucceed || st.Type == TypeFail) {
			g.line(indent, "%s --> %s", id, mermaidEnd)
		}
		for _, r := range st.Choices {
			if r != nil && r.Next != "" {
				g.line(indent, `%s -->|"%s"| %s`, id, mermaidText(truncate(RuleString(r), maxLabel)), target(r.Next))
			}
		}
		if st.Default != "" {
			g.line(indent, `%s -->|"default"| %s`, id, target(st.Default))
		}
		for _, c := range st.Catch {
			if c != nil && c.Next != "" {
				g.line(indent, `%s -.->|"%s"| %s`, id, mermaidText(truncate(strings.Join(c.ErrorEquals, ", "), maxLabel)), target(c.Next))
			}
		}
	}
}

// nested draws the edges of a branch or item processor, including the
// arrow into its first state from the start marker declared in its subgraph.
func (g *mermaid) nested(sm *StateMachine, scope string, indent int) {
	if _, ok := sm.States[sm.StartAt]; ok {
		g.line(indent, "%s --> %s", g.id(scope, "\x00start"), g.id(scope, sm.StartAt))
	}
	g.edges(sm, scope, indent, false)
}

// maxLabel is the number of characters after which edge labels are cut.
const maxLabel = 60

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var operatorSymbols = map[string]string{
	"Equals": "==", "LessThan": "<", "GreaterThan": ">", "LessThanEquals": "<=", "GreaterThanEquals": ">=",
}

// RuleString renders a Choice rule as a short readable expression, e.g.
// `$.n > 3`, `$.a == "x" and not isNull($.b)` or a JSONata condition.
func RuleString(r *ChoiceRule) string {
	if r == nil {
		return ""
	}
	var parts []string
	join := func(rules []*ChoiceRule, sep string) string {
		ss := make([]string, 0, len(rules))
		for _, x := range rules {
			s := RuleString(x)
			if x != nil && (len(x.And) > 0 || len(x.Or) > 0) {
				s = "(" + s + ")"
			}
			ss = append(ss, s)
		}
		return strings.Join(ss, sep)
	}
	if r.Operator != "" {
		parts = append(parts, comparisonString(r))
	}
	if len(r.And) > 0 {
		parts = append(parts, join(r.And, " and "))
	}
	if len(r.Or) > 0 {
		parts = append(parts, join(r.Or, " or "))
	}
	if r.Not != nil {
		s := RuleString(r.Not)
		if r.Not.Operator == "" || len(r.Not.And)+len(r.Not.Or) > 0 {
			s = "(" + s + ")"
		}
		parts = append(parts, "not "+s)
	}
	if len(r.Condition) > 0 {
		var s string
		if json.Unmarshal(r.Condition, &s) == nil {
			parts = append(parts, strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{%"), "%}")))
		} else {
			parts = append(parts, string(r.Condition))
		}
	}
	return strings.Join(parts, "; ")
}

func comparisonString(r *ChoiceRule) string {
	op := r.Operator
	val := string(r.Value)
	if strings.HasPrefix(op, "Is") {
		fn := strings.ToLower(op[:1]) + op[1:]
		if b, ok := r.BoolValue(); ok && !b {
			return fmt.Sprintf("not %s(%s)", fn, r.Variable)
		}
		return fmt.Sprintf("%s(%s)", fn, r.Variable)
	}
	if r.IsPathOperator() {
		if s, ok := r.StringValue(); ok {
			val = s
		}
	}
	base := r.BaseOperator()
	if base == "StringMatches" {
		return fmt.Sprintf("%s matches %s", r.Variable, val)
	}
	for _, kind := range []string{"String", "Numeric", "Boolean", "Timestamp"} {
		if rest, ok := strings.CutPrefix(base, kind); ok {
			if sym, ok := operatorSymbols[rest]; ok {
				return fmt.Sprintf("%s %s %s", r.Variable, sym, val)
			}
		}
	}
	return fmt.Sprintf("%s %s %s", r.Variable, op, val)
}
