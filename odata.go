package powerbi

import (
	"context"
	"iter"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// list is the OData envelope of list responses: {"@odata.context": "...", "value": [...]}.
type list[T any] struct {
	Value []T `json:"value"`
}

func (l *list[T]) complete() bool { return l.Value != nil }

// callJSON sends r and decodes its JSON body into a new T.
func callJSON[T any](ctx context.Context, c *Client, r *Request) (*T, error) {
	v := new(T)
	if _, err := c.send(ctx, r, v); err != nil {
		return nil, err
	}
	return v, nil
}

// callList sends r and unwraps the OData list it answers; an empty list is a
// non-nil empty slice.
func callList[T any](ctx context.Context, c *Client, r *Request) ([]T, error) {
	var l list[T]
	if _, err := c.send(ctx, r, &l); err != nil {
		return nil, err
	}
	return l.Value, nil
}

// callNoContent sends r, whose success carries no body the caller needs.
func callNoContent(ctx context.Context, c *Client, r *Request) error {
	_, err := c.send(ctx, r, nil)
	return err
}

// queryOf encodes the query of one of the package's methods: first its
// required parameters, given as name and value pairs, then the fields of
// opts, a pointer to an options struct whose fields carry `query:"name"` tags
// (nil when none). Option fields left at their zero value are not sent. A tag
// may add ",quoted" (the value is sent between single quotes, as OData
// literals are) or ",raw" (the value is sent exactly as given: a token the
// service handed out already encoded). Negative $top and $skip, and control
// characters, are refused before anything is sent.
func queryOf(opts any, required ...any) (string, error) {
	var b strings.Builder
	for i := 0; i+1 < len(required); i += 2 {
		name := required[i].(string)
		if err := addParam(&b, name, name, "", reflect.ValueOf(required[i+1])); err != nil {
			return "", err
		}
	}
	v := reflect.ValueOf(opts)
	if !v.IsValid() || v.IsNil() {
		return b.String(), nil
	}
	v = v.Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("query")
		if !ok || v.Field(i).IsZero() {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if err := addParam(&b, t.Name()+"."+f.Name, name, flags, v.Field(i)); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// activityTimeLayout is how the activity events take their start and end.
const activityTimeLayout = "2006-01-02T15:04:05.000Z"

func addParam(b *strings.Builder, field, name, flags string, v reflect.Value) error {
	var s string
	switch x := v.Interface().(type) {
	case time.Time:
		s = x.UTC().Format(activityTimeLayout)
	case Timestamp:
		s = x.UTC().Format(time.RFC3339)
	default:
		switch v.Kind() {
		case reflect.String:
			s = v.String()
		case reflect.Bool:
			s = strconv.FormatBool(v.Bool())
		case reflect.Int, reflect.Int32, reflect.Int64:
			n := v.Int()
			if n < 0 && (name == "$top" || name == "$skip") {
				return invalid(field, "must not be negative, got %d", n)
			}
			s = strconv.FormatInt(n, 10)
		default:
			return invalid(field, "has a type the query cannot carry (%s)", v.Type())
		}
	}
	switch {
	case len(s) > 4096:
		return invalid(field, "is %d bytes long; at most 4096 are allowed", len(s))
	case strings.ContainsFunc(s, unicode.IsControl):
		return invalid(field, "must not contain control characters")
	}
	if b.Len() > 0 {
		b.WriteByte('&')
	}
	b.WriteString(name)
	b.WriteByte('=')
	quoted := strings.Contains(flags, "quoted") && !strings.HasPrefix(s, "'")
	if quoted {
		b.WriteByte('\'')
	}
	if strings.Contains(flags, "raw") {
		b.WriteString(s)
	} else {
		b.WriteString(queryEscape(s))
	}
	if quoted {
		b.WriteByte('\'')
	}
	return nil
}

// queryEscape escapes a query value with %20 for spaces, as the service's
// documentation writes them.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// encodeValues encodes the query of a Client.Do request: names in sorted
// order, OData's "$" kept as it is.
func encodeValues(q url.Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		name := "$" + queryEscape(strings.TrimPrefix(k, "$"))
		if !strings.HasPrefix(k, "$") {
			name = queryEscape(k)
		}
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(queryEscape(v))
		}
	}
	return b.String()
}

// isPlainValue reports a query value that is a number or a boolean: not a
// secret, whatever a server echoes.
func isPlainValue(v string) bool {
	if v == "true" || v == "false" {
		return true
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// pages iterates over a $top/$skip list: it asks fetch for pages of up to
// pageSize items starting at skip until a page comes back short (the service
// sends no next link). top, when positive, caps the total yielded, as $top
// caps one page. The iteration stops at the first error, which it yields.
func pages[T any](top, skip, pageSize int, fetch func(top, skip int) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if top < 0 || skip < 0 {
			yield(zero, invalid("$top and $skip", "must not be negative"))
			return
		}
		for yielded := 0; top == 0 || yielded < top; {
			want := pageSize
			if top > 0 {
				want = min(want, top-yielded)
			}
			page, err := fetch(want, skip)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			yielded += len(page)
			if len(page) < want {
				return
			}
			skip += len(page)
		}
	}
}

// continuation iterates over a list the service pages with continuation
// tokens: first gets the first page; each page's items are yielded, and its
// continuationUri (see page) is followed, exactly as received, until a page
// gives none. The iteration stops at the first error, which it yields. op
// is the operation whose rate budget the pages count against.
func continuation[P, T any](ctx context.Context, c *Client, op string, first func() (*P, error), page func(*P) (items []T, next string)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		p, err := first()
		for prev := ""; ; {
			if err != nil {
				yield(zero, err)
				return
			}
			items, next := page(p)
			for _, v := range items {
				if !yield(v, nil) {
					return
				}
			}
			if next == "" || next == prev {
				return
			}
			prev = next
			var r *Request
			if r, err = c.follow(next); err == nil {
				r.Operation = op // the next page counts against the same budget
				p, err = callJSON[P](ctx, c, r)
			}
		}
	}
}

// follow is a GET of a link the service handed out (a continuationUri),
// sent as received. It must lead under the API root.
func (c *Client) follow(link string) (*Request, error) {
	rest, ok := strings.CutPrefix(link, c.apiRoot)
	if !ok {
		return nil, invalid("continuationUri", "does not lead under the API root %s", c.apiRoot)
	}
	path, rawQuery, _ := strings.Cut(rest, "?")
	if err := checkPath(path); err != nil {
		return nil, err
	}
	return &Request{Method: "GET", Path: path, rawQuery: rawQuery}, nil
}

// callJSONArray sends r and decodes the JSON array it answers.
func callJSONArray[T any](ctx context.Context, c *Client, r *Request) ([]T, error) {
	var v []T
	if _, err := c.send(ctx, r, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// optional is a request body that may be absent: nil, not a JSON null, when p is nil.
func optional[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}
