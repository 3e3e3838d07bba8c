package powerbitest

import (
	"fmt"
	"strings"
)

// filter is a parsed OData $filter over workspaces.
type filter func(groupJSON) bool

// parseFilter understands the subset of OData that Get Groups is used with:
// comparisons "name eq 'x'", "name ne 'x'", "id eq '…'",
// "isOnDedicatedCapacity eq true", the functions contains, startswith and
// endswith on name (case-insensitive, like the service), joined with "and" and
// "or" ("and" binds tighter) and "not". Anything else is an error, so a test
// does not pass on a filter the fake silently ignored.
func parseFilter(expr string) (filter, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return f, nil
}

type token struct {
	text   string
	quoted bool // a string literal; text is its unquoted value
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, token{text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			for i++; ; i++ {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string")
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' { // '' is an escaped quote
						b.WriteByte('\'')
						i++
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
			}
			toks = append(toks, token{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" (),'", rune(s[j])) {
				j++
			}
			toks = append(toks, token{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks []token
	pos  int
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) expect(w string) error {
	if !p.peekWord(w) {
		return fmt.Errorf("expected %q", w)
	}
	p.pos++
	return nil
}

func (p *filterParser) next() (token, error) {
	if p.pos >= len(p.toks) {
		return token{}, fmt.Errorf("unexpected end of filter")
	}
	p.pos++
	return p.toks[p.pos-1], nil
}

func (p *filterParser) or() (filter, error) {
	left, err := p.and()
	for err == nil && p.peekWord("or") {
		p.pos++
		var right filter
		if right, err = p.and(); err == nil {
			l := left
			left = func(g groupJSON) bool { return l(g) || right(g) }
		}
	}
	return left, err
}

func (p *filterParser) and() (filter, error) {
	left, err := p.unary()
	for err == nil && p.peekWord("and") {
		p.pos++
		var right filter
		if right, err = p.unary(); err == nil {
			l := left
			left = func(g groupJSON) bool { return l(g) && right(g) }
		}
	}
	return left, err
}

func (p *filterParser) unary() (filter, error) {
	switch {
	case p.peekWord("not"):
		p.pos++
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(g groupJSON) bool { return !f(g) }, nil
	case p.peekWord("("):
		p.pos++
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		return f, p.expect(")")
	case p.peekWord("contains"), p.peekWord("startswith"), p.peekWord("endswith"):
		return p.function()
	}
	return p.comparison()
}

// function parses contains(name,'x'), startswith(name,'x'), endswith(name,'x').
func (p *filterParser) function() (filter, error) {
	fn, _ := p.next()
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if err := p.expect("name"); err != nil {
		return nil, fmt.Errorf("%s: only name is supported", fn.text)
	}
	if err := p.expect(","); err != nil {
		return nil, err
	}
	arg, err := p.next()
	if err != nil || !arg.quoted {
		return nil, fmt.Errorf("%s: expected a string", fn.text)
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	want := strings.ToLower(arg.text)
	var match func(s, sub string) bool
	switch strings.ToLower(fn.text) {
	case "contains":
		match = strings.Contains
	case "startswith":
		match = strings.HasPrefix
	default:
		match = strings.HasSuffix
	}
	return func(g groupJSON) bool { return match(strings.ToLower(g.Name), want) }, nil
}

// comparison parses "field eq|ne value".
func (p *filterParser) comparison() (filter, error) {
	field, err := p.next()
	if err != nil {
		return nil, err
	}
	op, err := p.next()
	if err != nil {
		return nil, err
	}
	val, err := p.next()
	if err != nil {
		return nil, err
	}
	negate := false
	switch strings.ToLower(op.text) {
	case "eq":
	case "ne":
		negate = true
	default:
		return nil, fmt.Errorf("unsupported operator %q", op.text)
	}
	var f filter
	switch strings.ToLower(field.text) {
	case "name", "id":
		if !val.quoted {
			return nil, fmt.Errorf("%s: expected a string", field.text)
		}
		isName := strings.EqualFold(field.text, "name")
		f = func(g groupJSON) bool {
			if isName {
				return strings.EqualFold(g.Name, val.text)
			}
			return strings.EqualFold(g.ID, val.text)
		}
	case "isondedicatedcapacity", "isreadonly":
		if val.quoted || (val.text != "true" && val.text != "false") {
			return nil, fmt.Errorf("%s: expected true or false", field.text)
		}
		want := val.text == "true"
		dedicated := strings.EqualFold(field.text, "isOnDedicatedCapacity")
		f = func(g groupJSON) bool {
			if dedicated {
				return g.IsOnDedicatedCapacity == want
			}
			return g.IsReadOnly == want
		}
	default:
		return nil, fmt.Errorf("unsupported property %q", field.text)
	}
	if negate {
		return func(g groupJSON) bool { return !f(g) }, nil
	}
	return f, nil
}
