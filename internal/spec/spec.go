// Package spec is the Power BI REST API contract the SDK is generated from:
// the official swagger document (see SOURCE.md), read into Go values that
// keep the document's order. The generator, the tests that drive every
// example of the contract, and powerbitest's answers all read it from here.
package spec

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed swagger.json
var raw []byte

//go:embed overlay.json
var overlay []byte

// Overlay is the generator's overlay (overlay.json): what the contract does
// not say, or says wrongly.
func Overlay() ([]byte, error) { return overlay, nil }

// Swagger is the part of the document the SDK uses.
type Swagger struct {
	Operations  []*Operation       // in the document's order
	Definitions map[string]*Schema // by name
	DefOrder    []string           // definition names in the document's order
}

// Operation is one operation of the contract.
type Operation struct {
	ID          string              `json:"operationId"`
	Tags        []string            `json:"tags"`
	Summary     string              `json:"summary"`
	Description string              `json:"description"`
	Parameters  []*Parameter        `json:"parameters"`
	Responses   map[string]Response `json:"responses"`
	Examples    map[string]*Example `json:"x-ms-examples"`
	Consumes    []string            `json:"consumes"`
	Produces    []string            `json:"produces"`
	Deprecated  bool                `json:"deprecated"`
	Method      string              `json:"-"` // GET, POST, ...
	Path        string              `json:"-"` // e.g. /v1.0/myorg/groups/{groupId}/reports
	ExampleKeys []string            `json:"-"` // example names, sorted
}

// Parameter is an operation's parameter, with references resolved.
type Parameter struct {
	Ref         string   `json:"$ref"`
	Name        string   `json:"name"`
	In          string   `json:"in"` // path, query or body
	Description string   `json:"description"`
	Type        string   `json:"type"`
	Format      string   `json:"format"`
	Required    bool     `json:"required"`
	Schema      *Schema  `json:"schema"`
	Enum        []string `json:"enum"`
	XMsEnum     *XMsEnum `json:"x-ms-enum"`
}

// Schema is a definition, a property or a body schema.
type Schema struct {
	Ref                  string   `json:"$ref"`
	Type                 string   `json:"type"`
	Format               string   `json:"format"`
	Description          string   `json:"description"`
	Properties           Props    `json:"properties"`
	Required             []string `json:"required"`
	Items                *Schema  `json:"items"`
	AllOf                []*Schema
	Enum                 []string `json:"enum"`
	XMsEnum              *XMsEnum `json:"x-ms-enum"`
	AdditionalProperties *Schema  `json:"-"` // {} for "additionalProperties": true
	ReadOnly             bool     `json:"readOnly"`
}

// UnmarshalJSON reads a schema; allOf and enum values of any JSON type are kept.
func (s *Schema) UnmarshalJSON(b []byte) error {
	type plain Schema
	var aux struct {
		*plain
		AllOf []*Schema       `json:"allOf"`
		Enum  []any           `json:"enum"`
		Addl  json.RawMessage `json:"additionalProperties"`
	}
	aux.plain = (*plain)(s)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	s.AllOf = aux.AllOf
	switch string(aux.Addl) {
	case "", "false":
	case "true":
		s.AdditionalProperties = &Schema{}
	default:
		s.AdditionalProperties = new(Schema)
		if err := json.Unmarshal(aux.Addl, s.AdditionalProperties); err != nil {
			return err
		}
	}
	for _, v := range aux.Enum {
		s.Enum = append(s.Enum, fmt.Sprint(v))
	}
	return nil
}

// RefName is the definition a $ref names, "" for none.
func RefName(ref string) string {
	return strings.TrimPrefix(ref, "#/definitions/")
}

// XMsEnum names an enum and describes its values.
type XMsEnum struct {
	Name   string `json:"name"`
	Values []struct {
		Value       any    `json:"value"`
		Description string `json:"description"`
	} `json:"values"`
}

// Response is one response of an operation.
type Response struct {
	Description string             `json:"description"`
	Schema      *Schema            `json:"schema"`
	Headers     map[string]*Schema `json:"headers"`
}

// Example is one x-ms-examples entry: its parameters and responses, by
// status, as the document gives them.
type Example struct {
	Parameters map[string]json.RawMessage `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

// Body returns the example's response body for status, unwrapping
// {"body": ...}; some examples give the body directly. nil when there is none.
func (e *Example) Body(status string) json.RawMessage {
	raw, ok := e.Responses[status]
	if !ok {
		return nil
	}
	var wrapped map[string]json.RawMessage
	if json.Unmarshal(raw, &wrapped) == nil {
		if b, ok := wrapped["body"]; ok {
			return b
		}
		if _, ok := wrapped["headers"]; ok || len(wrapped) == 0 {
			return nil
		}
	}
	return raw
}

// Headers returns the example's response headers for status.
func (e *Example) Headers(status string) map[string]string {
	var wrapped struct {
		Headers map[string]string `json:"headers"`
	}
	_ = json.Unmarshal(e.Responses[status], &wrapped)
	return wrapped.Headers
}

// Props are an object's properties in the document's order.
type Props []Prop

// Prop is one property.
type Prop struct {
	Name   string
	Schema *Schema
}

// UnmarshalJSON keeps the order of the object's keys.
func (p *Props) UnmarshalJSON(b []byte) error {
	return orderedObject(b, func(name string, raw json.RawMessage) error {
		s := new(Schema)
		if err := json.Unmarshal(raw, s); err != nil {
			return fmt.Errorf("property %s: %w", name, err)
		}
		*p = append(*p, Prop{name, s})
		return nil
	})
}

// orderedObject calls each with the members of a JSON object, in order.
func orderedObject(b []byte, each func(name string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("want a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := each(t.(string), raw); err != nil {
			return err
		}
	}
	return nil
}

var (
	once   sync.Once
	loaded *Swagger
	errLd  error
)

// Load parses the embedded document, once.
func Load() (*Swagger, error) {
	once.Do(func() { loaded, errLd = parse(raw) })
	return loaded, errLd
}

// Raw is the embedded document, byte for byte.
func Raw() []byte { return raw }

func parse(b []byte) (*Swagger, error) {
	var doc struct {
		Paths       json.RawMessage       `json:"paths"`
		Definitions json.RawMessage       `json:"definitions"`
		Parameters  map[string]*Parameter `json:"parameters"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	sw := &Swagger{Definitions: map[string]*Schema{}}
	err := orderedObject(doc.Definitions, func(name string, raw json.RawMessage) error {
		s := new(Schema)
		if err := json.Unmarshal(raw, s); err != nil {
			return fmt.Errorf("definition %s: %w", name, err)
		}
		sw.Definitions[name] = s
		sw.DefOrder = append(sw.DefOrder, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = orderedObject(doc.Paths, func(path string, raw json.RawMessage) error {
		return orderedObject(raw, func(method string, raw json.RawMessage) error {
			op := new(Operation)
			if err := json.Unmarshal(raw, op); err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
			op.Method, op.Path = strings.ToUpper(method), path
			for i, p := range op.Parameters {
				if p.Ref != "" {
					ref, ok := doc.Parameters[strings.TrimPrefix(p.Ref, "#/parameters/")]
					if !ok {
						return fmt.Errorf("%s: unknown parameter %s", op.ID, p.Ref)
					}
					op.Parameters[i] = ref
				}
			}
			for k := range op.Examples {
				op.ExampleKeys = append(op.ExampleKeys, k)
			}
			sort.Strings(op.ExampleKeys)
			sw.Operations = append(sw.Operations, op)
			return nil
		})
	})
	return sw, err
}

// Operation returns the operation with the given ID, or nil.
func (s *Swagger) Operation(id string) *Operation {
	for _, op := range s.Operations {
		if op.ID == id {
			return op
		}
	}
	return nil
}

// Preview reports an operation of the preview tags (Goals and Scorecards).
func (op *Operation) Preview() bool {
	return len(op.Tags) > 0 && strings.HasSuffix(op.Tags[0], "_(Preview)")
}

// SuccessStatus is the operation's first 2xx response status, e.g. "200".
func (op *Operation) SuccessStatus() string {
	var codes []string
	for code := range op.Responses {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if strings.HasPrefix(c, "2") {
			return c
		}
	}
	return ""
}

// PropertyNames lists the JSON names an object of a definition may have,
// with those of the definitions its allOf names.
func (s *Swagger) PropertyNames(def string) []string {
	var out []string
	var walk func(d *Schema)
	walk = func(d *Schema) {
		if d == nil {
			return
		}
		if r := RefName(d.Ref); r != "" {
			walk(s.Definitions[r])
		}
		for _, p := range d.Properties {
			out = append(out, p.Name)
		}
		for _, a := range d.AllOf {
			walk(a)
		}
	}
	walk(s.Definitions[def])
	return out
}
