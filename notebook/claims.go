package notebook

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A check cell holds claims about a bench cell's stored results, written as
// comparisons of guest figures:
//
//	osv.ops_per_sec > rumprun.ops_per_sec
//	host.ops_per_sec > 2 * osv.ops_per_sec
//	linux.latency_p99 <= 1.5 * host.latency_p99
//
// Operands are numbers and GUEST.METRIC references; + - * / and parentheses
// combine them. Guest names may contain '-', so subtraction needs spaces
// around its minus.
//
// On a bench cell with a sweep, a reference may name a sweep point in
// brackets, by its param values or, where that is unambiguous, by a bare
// value:
//
//	linux[net=tap].ops_per_sec < 0.8 * linux[net=loopback].ops_per_sec
//	host[clients=4].ops_per_sec > host[clients=1].ops_per_sec
//	linux[tap].ops_per_sec < linux[loopback].ops_per_sec
//	vm[fs=xfs, iodepth=32].iops > vm[fs=ext4, iodepth=32].iops
//
// A reference without a point, or with a point that leaves some swept
// params free, is judged at every point of the free params.
//
// A claim may end with "up to PARAM = VALUE": it is then judged only at
// the points where the swept, numeric PARAM is at most VALUE, which is how
// a sweep over an offered rate states its knee:
//
//	host.latency_p99 < 1000 up to rate = 30000

// Check cell modes: an assertion's failure fails the build; a test's
// verdict is only reported.
const (
	ModeAssert = "assert"
	ModeTest   = "test"
)

// Claim is a parsed claim.
type Claim struct {
	Text  string
	Op    string // >, <, >=, <=
	Left  Expr
	Right Expr
	// UpTo, when set, limits the points the claim is judged at to those
	// whose param UpTo.Param is at most UpTo.Value.
	UpTo *UpTo
}

// UpTo is a claim's "up to PARAM = VALUE".
type UpTo struct {
	Param string
	Value float64
	At    int // byte offset of PARAM in the claim's text
}

// upToRE finds "up to" as words; upToTailRE reads what follows it.
var (
	upToRE     = regexp.MustCompile(`(^|\s)up\s+to(\s|$)`)
	upToTailRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*([0-9.eE+-]+)\s*$`)
)

// parseUpTo splits a claim's "up to PARAM = VALUE" off its end: the
// comparison's text, and the limit (nil without one).
func parseUpTo(s string) (string, *UpTo, error) {
	loc := upToRE.FindStringIndex(s)
	if loc == nil {
		return s, nil, nil
	}
	start := loc[0]
	if s[start] != 'u' {
		start++ // the space before "up"
	}
	tail := s[loc[1]:]
	m := upToTailRE.FindStringSubmatchIndex(tail)
	at := loc[1] + len(tail) - len(strings.TrimLeft(tail, " \t"))
	if m == nil {
		return "", nil, &ClaimError{Offset: at, Msg: fmt.Sprintf("want a swept param and a number after \"up to\", like \"up to rate = 30000\"; got %q", strings.TrimSpace(tail))}
	}
	v, err := strconv.ParseFloat(tail[m[4]:m[5]], 64)
	if err != nil {
		return "", nil, &ClaimError{Offset: loc[1] + m[4], Msg: fmt.Sprintf("%q after \"up to %s =\" is not a number", tail[m[4]:m[5]], tail[m[2]:m[3]])}
	}
	return s[:start], &UpTo{Param: tail[m[2]:m[3]], Value: v, At: loc[1] + m[2]}, nil
}

// Expr is an arithmetic expression over guest figures.
type Expr interface{ String() string }

// Num is a constant.
type Num struct{ Value float64 }

// Ref is GUEST.METRIC or GUEST[POINT].METRIC.
type Ref struct {
	Guest, Metric string
	// Point is what the brackets hold, as written ("net=tap", "tap",
	// "fs=xfs, iodepth=32"), or "" for none; ParsePoint splits it.
	Point string
	At    int // byte offset of the reference in the claim's text
}

// Bin is a binary operation.
type Bin struct {
	Op   byte // + - * /
	L, R Expr
}

func (n Num) String() string { return strconv.FormatFloat(n.Value, 'g', -1, 64) }
func (r Ref) String() string {
	if r.Point != "" {
		return r.Guest + "[" + r.Point + "]." + r.Metric
	}
	return r.Guest + "." + r.Metric
}
func (b Bin) String() string {
	return "(" + b.L.String() + " " + string(b.Op) + " " + b.R.String() + ")"
}

// Refs lists the references of a claim, left to right.
func (c *Claim) Refs() []Ref {
	var out []Ref
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case Ref:
			out = append(out, x)
		case Bin:
			walk(x.L)
			walk(x.R)
		}
	}
	walk(c.Left)
	walk(c.Right)
	return out
}

// ClaimError is a syntax error at a byte offset of the claim.
type ClaimError struct {
	Offset int
	Msg    string
}

func (e *ClaimError) Error() string { return e.Msg }

// ParseClaim parses one claim.
func ParseClaim(s string) (*Claim, error) {
	body, upTo, err := parseUpTo(s)
	if err != nil {
		return nil, err
	}
	p := &claimParser{s: body}
	p.next()
	left, err := p.sum()
	if err != nil {
		return nil, err
	}
	op := p.tok
	if op.kind != tokCmp {
		return nil, p.errorf(op.at, "want a comparison (>, <, >=, <=) after %s", left)
	}
	p.next()
	right, err := p.sum()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf(p.tok.at, "unexpected %q after the comparison", p.tok.text)
	}
	return &Claim{Text: s, Op: op.text, Left: left, Right: right, UpTo: upTo}, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokNum
	tokRef
	tokOp  // + - * / ( )
	tokCmp // > < >= <=
	tokBad
)

type token struct {
	kind tokKind
	text string
	at   int
	num  float64
	ref  Ref
	msg  string // why a tokBad is bad, when that is not plain
}

type claimParser struct {
	s   string
	i   int
	tok token
}

func (p *claimParser) errorf(at int, format string, args ...any) error {
	return &ClaimError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func isIdent(r byte, first bool) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || !first && (r >= '0' && r <= '9' || r == '-')
}

func (p *claimParser) next() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
	at := p.i
	if p.i >= len(p.s) {
		p.tok = token{kind: tokEOF, at: at, text: "end"}
		return
	}
	c := p.s[p.i]
	switch {
	case c == '>' || c == '<':
		p.i++
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
		}
		p.tok = token{kind: tokCmp, text: p.s[at:p.i], at: at}
	case strings.IndexByte("+-*/()", c) >= 0:
		p.i++
		p.tok = token{kind: tokOp, text: string(c), at: at}
	case c >= '0' && c <= '9' || c == '.':
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.' || p.s[p.i] == 'e') {
			p.i++
		}
		v, err := strconv.ParseFloat(p.s[at:p.i], 64)
		if err != nil {
			p.tok = token{kind: tokBad, text: p.s[at:p.i], at: at}
			return
		}
		p.tok = token{kind: tokNum, text: p.s[at:p.i], at: at, num: v}
	case isIdent(c, true):
		p.ref(at)
	default:
		p.tok = token{kind: tokBad, text: string(c), at: at}
		p.i++
	}
}

// ref scans GUEST[POINT].METRIC from at; a bad one is a tokBad.
func (p *claimParser) ref(at int) {
	for p.i < len(p.s) && isIdent(p.s[p.i], false) {
		p.i++
	}
	r := Ref{Guest: p.s[at:p.i], At: at}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		end := strings.IndexByte(p.s[p.i:], ']')
		if end < 0 {
			p.tok = token{kind: tokBad, text: p.s[at:], at: at, msg: "the [ of a sweep point needs its ]"}
			p.i = len(p.s)
			return
		}
		r.Point = strings.TrimSpace(p.s[p.i+1 : p.i+end])
		p.i += end + 1
		if r.Point == "" {
			p.tok = token{kind: tokBad, text: p.s[at:p.i], at: at, msg: "empty sweep point []: name it like [net=tap]"}
			return
		}
	}
	mark := p.i
	for p.i < len(p.s) && (isIdent(p.s[p.i], false) || p.s[p.i] == '.') {
		p.i++
	}
	metric, ok := strings.CutPrefix(p.s[mark:p.i], ".")
	if !ok || metric == "" {
		p.tok = token{kind: tokBad, text: p.s[at:p.i], at: at}
		return
	}
	r.Metric = metric
	p.tok = token{kind: tokRef, text: p.s[at:p.i], at: at, ref: r}
}

var pointEqRE = regexp.MustCompile(`\s*=\s*`)

// PointParam is one param=value of a sweep point; Param is "" for a bare
// value.
type PointParam struct{ Param, Value string }

// ParsePoint splits a sweep point as written in a claim's brackets or an
// inline value's last argument: "net=tap", "tap", "fs=xfs, iodepth=32" or
// "fs=xfs iodepth=32" (the form reports print).
func ParsePoint(s string) []PointParam {
	var out []PointParam
	s = pointEqRE.ReplaceAllString(s, "=")
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			k, v = "", part
		}
		out = append(out, PointParam{Param: k, Value: v})
	}
	return out
}

// sum := product (('+'|'-') product)*
func (p *claimParser) sum() (Expr, error) { return p.leftAssoc(p.product, "+", "-") }

// product := atom (('*'|'/') atom)*
func (p *claimParser) product() (Expr, error) { return p.leftAssoc(p.atom, "*", "/") }

// leftAssoc parses operand (op operand)* for one precedence level, the
// operators grouping from the left: a - b - c is (a - b) - c.
func (p *claimParser) leftAssoc(operand func() (Expr, error), ops ...string) (Expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOp && slices.Contains(ops, p.tok.text) {
		op := p.tok.text[0]
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = Bin{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *claimParser) atom() (Expr, error) {
	t := p.tok
	switch {
	case t.kind == tokNum:
		p.next()
		return Num{t.num}, nil
	case t.kind == tokRef:
		p.next()
		return t.ref, nil
	case t.kind == tokOp && t.text == "(":
		p.next()
		e, err := p.sum()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokOp || p.tok.text != ")" {
			return nil, p.errorf(p.tok.at, "want ) to close the ( at %d", t.at+1)
		}
		p.next()
		return e, nil
	case t.kind == tokEOF:
		return nil, p.errorf(t.at, "the claim ends too early: want a number or GUEST.METRIC")
	case t.kind == tokBad && t.msg != "":
		return nil, p.errorf(t.at, "%q: %s", t.text, t.msg)
	case t.kind == tokBad:
		return nil, p.errorf(t.at, "%q is not a number, GUEST.METRIC or GUEST[POINT].METRIC", t.text)
	}
	return nil, p.errorf(t.at, "unexpected %q: want a number or GUEST.METRIC", t.text)
}
