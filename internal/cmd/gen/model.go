package main

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gopowerbi/powerbi/internal/spec"
)

// overlay is what the contract does not say, or says wrongly: names, docs in
// the project's own words, retry safety, paging, and compatibility with the
// hand-written models that came before the generator.
type overlay struct {
	Services     map[string]serviceOverlay `json:"services"`     // by operation ID prefix
	Operations   map[string]opOverlay      `json:"operations"`   // by operation ID
	PathChecks   map[string]string         `json:"pathChecks"`   // path parameter name → check function
	Types        map[string]typeOverlay    `json:"types"`        // by definition name
	RateClasses  map[string]string         `json:"rateClasses"`  // operation ID → the budget class it shares with others
	Enums        map[string]string         `json:"enums"`        // x-ms-enum name, "Definition.property" or "OperationID.parameter" → Go name
	Fragments    []string                  `json:"fragments"`    // allOf parts flattened into the types that use them
	ExampleNotes map[string]string         `json:"exampleNotes"` // "OperationID/example": why a check of the example test does not apply
	Comment      string                    `json:"comment"`
}

type serviceOverlay struct {
	Doc     string `json:"doc"`
	Preview bool   `json:"preview"`
}

type opOverlay struct {
	Service     string                  `json:"service"`
	Name        string                  `json:"name"`
	Doc         string                  `json:"doc"`
	Also        []string                `json:"also"`
	Handwritten bool                    `json:"handwritten"`
	Idempotent  bool                    `json:"idempotent"`
	PageSize    int                     `json:"pageSize"`
	Query       map[string]queryOverlay `json:"query"`
}

type queryOverlay struct {
	Type  string `json:"type"`
	Flags string `json:"flags"`
	Doc   string `json:"doc"`
}

type typeOverlay struct {
	Name   string                  `json:"name"`
	Doc    string                  `json:"doc"`
	Fields map[string]fieldOverlay `json:"fields"`
	Values bool                    `json:"values"` // optional fields stay values even inside an update body (version 0.1's models)
	// Add declares properties the service sends that the definition leaves
	// out (its own examples show them), after the declared ones.
	Add spec.Props `json:"add"`
}

type fieldOverlay struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// model is the Go API the generator writes.
type model struct {
	sw       *spec.Swagger
	ov       *overlay
	services []*service
	types    map[string]*goType // by definition name
	enums    map[string]*goEnum // by Go name
	uses     map[string][]string
	errs     []string
}

type service struct {
	Prefix, Name, Doc string
	Preview           bool
	Methods           []*method
	Options           []*goType
}

type method struct {
	Op          *spec.Operation
	Service     *service
	Name, Doc   string
	Preview     bool
	Link        string
	Params      []param // path parameters, then required query parameters
	GUIDChecks  []param
	OtherChecks []param
	PathExpr    string
	Query       []param // the required query parameters
	Opts        *goType // the optional query parameters, or nil
	Body        *param
	Result      string // json, list, array, file, none
	ResultType  string // the element type for list and array, the type for json
	Idempotent  bool
	Iter        string // "", pages or continuation
	PageSize    int
	TopArg      string // pages: the expression of $top
	TopInOpts   bool
	ContItems   string // continuation: the field holding the items
	ContType    string // continuation: the response type
	ContItem    string // continuation: the item type
	Handwritten bool
	Copy        bool   // the same operation on a second service (its options are declared once)
	resultDef   string // the definition of a json result
}

type param struct {
	Name, JSON, Type, Check, Flags string
	Optional                       bool
}

type goType struct {
	Name, Doc, Def string
	Fields         []*field
	Options        bool // an options struct of query parameters
}

type field struct {
	Name, Type, Tag, Doc string
	Embedded             bool
}

type goEnum struct {
	Name, Doc string
	Values    []enumValue
	Uses      []string // the fields and parameters of this type
}

type enumValue struct{ Const, Value string }

func (m *model) fail(format string, args ...any) {
	m.errs = append(m.errs, fmt.Sprintf(format, args...))
}

var odataList = regexp.MustCompile(`^(@?odata\.context|value)$`)

// listItem returns the item schema when def is an OData list envelope
// ({"@odata.context": ..., "value": [...]}), else nil.
func (m *model) listItem(def string) *spec.Schema {
	d := m.sw.Definitions[def]
	if d == nil || len(d.Properties) == 0 || len(d.AllOf) > 0 {
		return nil
	}
	var item *spec.Schema
	for _, p := range d.Properties {
		switch {
		case !odataList.MatchString(p.Name):
			return nil
		case p.Name == "value" && p.Schema.Type == "array":
			item = p.Schema.Items
		}
	}
	return item
}

func build(sw *spec.Swagger, ov *overlay) (*model, error) {
	m := &model{sw: sw, ov: ov, types: map[string]*goType{}, enums: map[string]*goEnum{}, uses: map[string][]string{}}
	services := map[string]*service{}
	getService := func(prefix string) *service {
		if s, ok := services[prefix]; ok {
			return s
		}
		so, ok := ov.Services[prefix]
		if !ok {
			m.fail("overlay: no service %s", prefix)
		}
		s := &service{Prefix: prefix, Name: prefix + "Service", Doc: so.Doc, Preview: so.Preview}
		services[prefix] = s
		return s
	}
	for _, op := range sw.Operations {
		o := ov.Operations[op.ID]
		prefix, name, _ := strings.Cut(op.ID, "_")
		if op.Preview() {
			name = name[strings.Index(name, "_")+1:]
		}
		if o.Service != "" {
			prefix = o.Service
		}
		if o.Name != "" {
			name = o.Name
		}
		if o.Doc == "" {
			m.fail("overlay: operation %s has no doc", op.ID)
		}
		meth := m.method(op, o, name)
		for i, p := range append([]string{prefix}, o.Also...) {
			s := getService(p)
			cp := *meth
			cp.Service, cp.Copy = s, i > 0
			s.Methods = append(s.Methods, &cp)
		}
	}
	// Options types are named after their method; where two services have a
	// method of one name, the later one's is prefixed with its service.
	optNames := map[string]bool{}
	for _, op := range sw.Operations {
		for _, s := range services {
			for _, meth := range s.Methods {
				if meth.Op == op && !meth.Copy && meth.Opts != nil {
					if optNames[meth.Opts.Name] {
						meth.Opts.Name = s.Prefix + meth.Opts.Name
						meth.Opts.Doc = meth.Opts.Name + strings.TrimPrefix(meth.Opts.Doc, meth.Name+"Options")
					}
					optNames[meth.Opts.Name] = true
				}
			}
		}
	}
	for _, s := range services {
		sort.Slice(s.Methods, func(i, j int) bool { return s.Methods[i].Name < s.Methods[j].Name })
		for _, meth := range s.Methods {
			if meth.Opts != nil && !meth.Copy && !slices.Contains(s.Options, meth.Opts) {
				s.Options = append(s.Options, meth.Opts)
			}
		}
		m.services = append(m.services, s)
	}
	sort.Slice(m.services, func(i, j int) bool { return m.services[i].Prefix < m.services[j].Prefix })
	// Building a type can reveal another (an item type, a nested object):
	// go round until none is new, then say where each is used.
	for n := -1; n != len(m.uses); {
		n = len(m.uses)
		for _, def := range sw.DefOrder {
			if _, used := m.uses[def]; used {
				m.typeFor(def)
			}
		}
	}
	for def, t := range m.types {
		if t != nil && t.Doc == "" {
			t.Doc = m.usageDoc(def, t.Name)
		}
	}
	for _, e := range m.enums {
		e.Doc = e.Name + " is a value of the REST API."
		if len(e.Uses) > 0 {
			e.Doc = e.Name + " is the type of " + list3(e.Uses) + "."
		}
	}
	if len(m.errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(m.errs, "\n"))
	}
	return m, nil
}

// link is the operation's page in the REST reference.
func link(op *spec.Operation) string {
	tag := strings.Replace(op.Tags[0], "_(Preview)", "Preview", 1)
	prefix, name, _ := strings.Cut(op.ID, "_")
	if op.Preview() {
		name = name[strings.Index(name, "_")+1:]
	}
	page := kebab(name)
	if prefix != tag {
		page = kebab(prefix) + "-" + page
	}
	return "https://learn.microsoft.com/rest/api/power-bi/" + kebab(tag) + "/" + page
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func (m *model) method(op *spec.Operation, o opOverlay, name string) *method {
	meth := &method{Op: op, Name: name, Doc: o.Doc, Preview: op.Preview(), Link: link(op), Handwritten: o.Handwritten,
		Idempotent: op.Method != "POST" || o.Idempotent, PageSize: o.PageSize}
	params := map[string]*spec.Parameter{}
	var optional []*spec.Parameter
	for _, p := range op.Parameters {
		params[p.Name] = p
		switch {
		case p.In == "body":
			t := m.bodyType(op, p)
			meth.Body = &param{Name: "req", Type: t, Optional: !p.Required}
		case p.In == "query" && p.Required:
			qp := m.queryParam(op, o, p)
			meth.Query = append(meth.Query, qp)
		case p.In == "query":
			optional = append(optional, p)
		}
	}
	// Path parameters in path order, then the required query parameters.
	path := strings.TrimPrefix(op.Path, "/v1.0/myorg/")
	var expr []string
	rest := path
	for _, loc := range pathParam.FindAllStringSubmatchIndex(path, -1) {
		start := loc[0] - (len(path) - len(rest))
		lit := rest[:start]
		pname := path[loc[2]:loc[3]]
		rest = path[loc[1]:]
		p := params[pname]
		if p == nil {
			m.fail("%s: path parameter %s is not declared", op.ID, pname)
			continue
		}
		gp := param{Name: unexported(pname), JSON: pname, Type: "string"}
		quoted := strings.HasSuffix(lit, "'")
		var e string
		switch {
		case p.Type == "integer":
			gp.Type, e = "int", "strconv.Itoa("+gp.Name+")"
		case p.Format == "date-time":
			gp.Type, e = "time.Time", "url.PathEscape("+gp.Name+".UTC().Format(time.RFC3339))"
		case p.Format == "uuid":
			meth.GUIDChecks = append(meth.GUIDChecks, gp)
			e = gp.Name
		case quoted:
			gp.Check = "checkSegment"
			meth.OtherChecks = append(meth.OtherChecks, gp)
			e = "odataString(" + gp.Name + ")"
		default:
			gp.Check = firstNonEmpty(m.ov.PathChecks[pname], "checkSegment")
			meth.OtherChecks = append(meth.OtherChecks, gp)
			e = "url.PathEscape(" + gp.Name + ")"
		}
		meth.Params = append(meth.Params, gp)
		if lit != "" {
			expr = append(expr, fmt.Sprintf("%q", lit))
		}
		expr = append(expr, e)
	}
	if rest != "" || len(expr) == 0 {
		expr = append(expr, fmt.Sprintf("%q", rest))
	}
	meth.PathExpr = strings.Join(expr, " + ")
	meth.Params = append(meth.Params, meth.Query...)
	if len(optional) > 0 {
		meth.Opts = &goType{Name: name + "Options", Options: true,
			Doc: fmt.Sprintf("%sOptions are the optional query parameters of %s.", name, name)}
		for _, p := range optional {
			qp := m.queryParam(op, o, p)
			tag := fmt.Sprintf("`query:%q`", strings.TrimSuffix(p.Name+","+qp.Flags, ","))
			meth.Opts.Fields = append(meth.Opts.Fields, &field{Name: exported(p.Name), Type: qp.Type, Tag: tag, Doc: firstNonEmpty(o.Query[p.Name].Doc, odataDocs[p.Name])})
		}
	}
	m.result(meth, op)
	m.iter(meth, o)
	return meth
}

// odataDocs describe the OData query options where they appear.
var odataDocs = map[string]string{
	"$filter": "an OData filter, e.g. \"contains(name,'sales')\"; the SDK escapes it",
	"$top":    "the most items to return",
	"$skip":   "how many items to skip",
	"$expand": "related items to return inline, comma-separated",
	"$select": "the properties to return, comma-separated",
}

func (m *model) queryParam(op *spec.Operation, o opOverlay, p *spec.Parameter) param {
	qp := param{Name: unexported(p.Name), JSON: p.Name}
	switch {
	case p.Type == "integer":
		qp.Type = "int"
	case p.Type == "boolean":
		qp.Type = "bool"
	case p.Format == "date-time":
		qp.Type = "time.Time"
	case len(p.Enum) > 0:
		qp.Type = m.enum(p.Enum, p.XMsEnum, op.ID+"."+p.Name)
	default:
		qp.Type = "string"
	}
	if q, ok := o.Query[p.Name]; ok {
		qp.Type = firstNonEmpty(q.Type, qp.Type)
		qp.Flags = q.Flags
	}
	return qp
}

func (m *model) bodyType(op *spec.Operation, p *spec.Parameter) string {
	def := spec.RefName(p.Schema.Ref)
	if def == "" {
		m.fail("%s: a body without a $ref", op.ID)
		return "any"
	}
	m.use(def, "body of "+op.ID)
	if op.Method == "PATCH" || op.Method == "PUT" {
		m.markUpdate(def)
	}
	return m.defName(def)
}

func (m *model) result(meth *method, op *spec.Operation) {
	meth.Result = "none"
	for _, code := range []string{"200", "201", "202"} {
		r, ok := op.Responses[code]
		if !ok || r.Schema == nil {
			continue
		}
		why := "result of " + op.ID
		switch s, def := r.Schema, spec.RefName(r.Schema.Ref); {
		case s.Type == "file":
			meth.Result = "file"
		case s.Type == "array":
			meth.Result, meth.ResultType = "array", m.schemaType(s.Items, false, op.ID, why)
		case m.listItem(def) != nil:
			meth.Result, meth.ResultType = "list", m.schemaType(m.listItem(def), false, def, why)
		default:
			m.use(def, why)
			meth.Result, meth.ResultType, meth.resultDef = "json", m.defName(def), def
		}
		return
	}
}

func (m *model) iter(meth *method, o opOverlay) {
	var top, skip, cont bool
	for _, p := range meth.Op.Parameters {
		switch p.Name {
		case "$top":
			top = true
			if p.Required {
				meth.TopArg = "top"
			}
		case "$skip":
			skip = true
		case "continuationToken":
			cont = true
		}
	}
	switch {
	case top && skip && meth.Result == "list":
		meth.Iter, meth.PageSize = "pages", max(o.PageSize, 1000)
		if meth.TopArg == "" {
			meth.TopArg, meth.TopInOpts = "o.Top", true
		}
	case cont && meth.Result == "json":
		for _, p := range m.sw.Definitions[meth.resultDef].Properties {
			if p.Schema.Type == "array" {
				meth.Iter, meth.ContItems, meth.ContType = "continuation", exported(p.Name), meth.ResultType
				meth.ContItem = m.schemaType(p.Schema.Items, false, meth.resultDef+"."+p.Name, "part of "+meth.resultDef)
				break
			}
		}
		if meth.Iter == "" {
			m.fail("%s: a continuation list without an array", meth.Op.ID)
		}
	}
}

// use records that def is part of the API, and why.
func (m *model) use(def, why string) {
	first := m.uses[def] == nil
	if !slices.Contains(m.uses[def], why) {
		m.uses[def] = append(m.uses[def], why)
	}
	if !first {
		return
	}
	d := m.sw.Definitions[def]
	if d == nil {
		m.fail("unknown definition %s", def)
		return
	}
	// Walk what it is made of, so that every type it needs is generated.
	var walk func(s *spec.Schema)
	walk = func(s *spec.Schema) {
		if s == nil {
			return
		}
		if r := spec.RefName(s.Ref); r != "" {
			if m.isFragment(r) {
				for _, p := range m.sw.Definitions[r].Properties {
					walk(p.Schema)
				}
				for _, a := range m.sw.Definitions[r].AllOf {
					walk(a)
				}
			} else {
				m.use(r, "part of "+def)
			}
		}
		for _, p := range s.Properties {
			walk(p.Schema)
		}
		for _, a := range s.AllOf {
			walk(a)
		}
		walk(s.Items)
		walk(s.AdditionalProperties)
	}
	for _, p := range d.Properties {
		walk(p.Schema)
	}
	for _, a := range d.AllOf {
		walk(a)
	}
}

// markUpdate marks def, and every definition nested in it, as part of an
// update body: their optional scalar fields become pointers, so that false, 0
// and "" can be sent on purpose.
func (m *model) markUpdate(def string) {
	if slices.Contains(m.uses[def], "update") {
		return
	}
	m.use(def, "update")
	var walk func(s *spec.Schema)
	walk = func(s *spec.Schema) {
		if s == nil {
			return
		}
		if r := spec.RefName(s.Ref); r != "" {
			if d := m.sw.Definitions[r]; len(d.Enum) == 0 && !freeForm(d) {
				if m.isFragment(r) {
					walk(d)
				} else {
					m.markUpdate(r)
				}
			}
		}
		for _, p := range s.Properties {
			walk(p.Schema)
		}
		for _, a := range s.AllOf {
			walk(a)
		}
		walk(s.Items)
	}
	walk(m.sw.Definitions[def])
}

func (m *model) isFragment(def string) bool {
	return slices.Contains(m.ov.Fragments, def)
}

// defName is the Go name of a definition.
func (m *model) defName(def string) string {
	if t, ok := m.ov.Types[def]; ok && t.Name != "" {
		return t.Name
	}
	if d := m.sw.Definitions[def]; d != nil && len(d.Enum) > 0 {
		return m.enum(d.Enum, d.XMsEnum, def)
	}
	return exported(def[strings.LastIndex(def, ".")+1:])
}

// typeFor builds the Go struct of a definition.
func (m *model) typeFor(def string) *goType {
	if t, ok := m.types[def]; ok {
		return t
	}
	d := m.sw.Definitions[def]
	if len(d.Enum) > 0 {
		return nil // an enum definition: see enum
	}
	ov := m.ov.Types[def]
	t := &goType{Name: m.defName(def), Def: def, Doc: ov.Doc}
	m.types[def] = t
	update := slices.Contains(m.uses[def], "update") && !ov.Values
	required := map[string]bool{}
	var props spec.Props
	var collect func(s *spec.Schema)
	collect = func(s *spec.Schema) {
		for _, r := range s.Required {
			required[r] = true
		}
		for _, a := range s.AllOf {
			if r := spec.RefName(a.Ref); r != "" && !m.isFragment(r) {
				t.Fields = append(t.Fields, &field{Name: m.defName(r), Type: m.defName(r), Embedded: true})
				continue
			} else if r != "" {
				collect(m.sw.Definitions[r])
				continue
			}
			collect(a)
		}
		props = append(props, s.Properties...)
	}
	collect(d)
	props = append(props, ov.Add...)
	seen := map[string]string{}
	for _, p := range props {
		if p.Name == "@odata.context" || p.Name == "odata.context" {
			continue
		}
		fo := ov.Fields[p.Name]
		name := firstNonEmpty(fo.Name, exported(p.Name))
		if prev, dup := seen[name]; dup {
			if prev == p.Name {
				continue // the same property from two fragments
			}
			m.fail("%s: properties %s and %s are both %s", def, prev, p.Name, name)
		}
		seen[name] = p.Name
		req := required[p.Name]
		typ := fo.Type
		if typ == "" {
			typ = m.schemaType(p.Schema, !req, def+"."+p.Name, "part of "+def)
			if update && !req && scalar(typ) {
				typ = "*" + typ
			}
		}
		opt := ",omitempty"
		switch {
		case req && !strings.HasPrefix(typ, "*"):
			opt = ""
		case typ == "Timestamp" || typ == "time.Time":
			opt = ",omitzero"
		case update && (strings.HasPrefix(typ, "[]") || strings.HasPrefix(typ, "map[")):
			opt = ",omitzero" // nil leaves it as it is; an empty one is sent, to clear it
		}
		t.Fields = append(t.Fields, &field{Name: name, Type: typ, Tag: fmt.Sprintf("`json:\"%s%s\"`", p.Name, opt)})
	}
	return t
}

// freeForm reports a definition with no properties of its own: any JSON object.
func freeForm(d *spec.Schema) bool {
	return len(d.Properties) == 0 && len(d.AllOf) == 0 && len(d.Enum) == 0
}

func scalar(typ string) bool {
	switch typ {
	case "string", "int", "int64", "float64", "bool", "Timestamp", "time.Time":
		return true
	}
	return !strings.ContainsAny(typ, "[]*.") && typ != "any" && !strings.HasPrefix(typ, "map")
}

// usageDoc says, in a line, where a type is used.
func (m *model) usageDoc(def, name string) string {
	var bodies, results, parts []string
	for _, why := range m.uses[def] {
		kind, what, _ := strings.Cut(why, " of ")
		if why == "update" {
			continue
		}
		switch kind {
		case "body":
			bodies = append(bodies, m.opRef(what))
		case "result":
			results = append(results, m.opRef(what))
		case "part":
			parts = append(parts, m.defName(what))
		}
	}
	var clauses []string
	if len(bodies) > 0 {
		clauses = append(clauses, "the request body of "+list3(bodies))
	}
	if len(results) > 0 {
		clauses = append(clauses, "what "+list3(results)+" return"+plural(len(results)))
	}
	if len(parts) > 0 {
		clauses = append(clauses, "part of "+list3(parts))
	}
	if len(clauses) == 0 {
		return name + " is a model of the REST API."
	}
	return name + " is " + strings.Join(clauses, "; ") + "."
}

func plural(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func list3(xs []string) string {
	slices.Sort(xs)
	xs = slices.Compact(xs)
	switch {
	case len(xs) == 1:
		return xs[0]
	case len(xs) <= 3:
		return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
	}
	return strings.Join(xs[:3], ", ") + " and others"
}

// opRef names an operation's method as a reader finds it: Reports.CloneReportInGroup.
func (m *model) opRef(id string) string {
	o := m.ov.Operations[id]
	prefix, name, _ := strings.Cut(id, "_")
	if op := m.sw.Operation(id); op != nil && op.Preview() {
		name = name[strings.Index(name, "_")+1:]
	}
	return firstNonEmpty(o.Service, prefix) + "." + firstNonEmpty(o.Name, name)
}

// schemaType is the Go type of a property or item schema.
func (m *model) schemaType(s *spec.Schema, optional bool, where, why string) string {
	if s.Type == "array" && s.Items == nil && s.Ref != "" {
		// A contract quirk: an array that names its items' type with $ref
		// instead of items (Role.members).
		return "[]" + strings.TrimPrefix(m.schemaType(&spec.Schema{Ref: s.Ref}, false, where, why), "*")
	}
	if r := spec.RefName(s.Ref); r != "" {
		d := m.sw.Definitions[r]
		switch {
		case len(d.Enum) > 0:
			return m.enum(d.Enum, d.XMsEnum, where)
		case freeForm(d):
			return "map[string]any"
		}
		m.use(r, why)
		if optional {
			return "*" + m.defName(r)
		}
		return m.defName(r)
	}
	switch s.Type {
	case "string":
		switch {
		case len(s.Enum) > 0 && s.XMsEnum == nil && m.ov.Enums[where] == "":
			return "string"
		case len(s.Enum) > 0:
			return m.enum(s.Enum, s.XMsEnum, where)
		case s.Format == "date-time":
			return "Timestamp"
		}
		return "string"
	case "integer":
		if s.Format == "int64" {
			return "int64"
		}
		return "int"
	case "number":
		return "float64"
	case "boolean":
		return "bool"
	case "array":
		return "[]" + strings.TrimPrefix(m.schemaType(s.Items, false, where, why), "*")
	case "file":
		return "*File"
	}
	if s.AdditionalProperties != nil {
		if s.AdditionalProperties.Type == "" && s.AdditionalProperties.Ref == "" {
			return "map[string]any"
		}
		return "map[string]" + m.schemaType(s.AdditionalProperties, false, where, why)
	}
	return "map[string]any"
}

// enum returns the Go type of an enum, creating it on first use. Its name is
// the overlay's for where (or for its x-ms-enum name), else its x-ms-enum
// name; an enum without either is plain string.
func (m *model) enum(values []string, x *spec.XMsEnum, where string) string {
	name := m.ov.Enums[where]
	if name == "" && x != nil {
		name = firstNonEmpty(m.ov.Enums[x.Name], exported(x.Name))
	}
	if name == "" {
		return "string"
	}
	e, ok := m.enums[name]
	if !ok {
		e = &goEnum{Name: name}
		m.enums[name] = e
	}
	if def, prop, ok := strings.Cut(where, "."); ok {
		if op := m.sw.Operation(def); op != nil {
			where = m.opRef(def) + "'s " + prop
		} else {
			where = m.defName(def) + "." + exported(prop)
		}
	} else {
		where = "" // an enum definition: its uses are the fields that name it
	}
	if where != "" && !slices.Contains(e.Uses, where) {
		e.Uses = append(e.Uses, where)
	}
	for _, v := range values {
		if !slices.ContainsFunc(e.Values, func(ev enumValue) bool { return ev.Value == v }) {
			e.Values = append(e.Values, enumValue{Const: name + exported(v), Value: v})
		}
	}
	return name
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
