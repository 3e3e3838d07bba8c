package powerbi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
)

// The documented limits of one executeQueries answer: past any of them the
// service cuts the result short without saying so.
const (
	DAXMaxRows   = 100_000
	DAXMaxValues = 1_000_000
	DAXMaxBytes  = 15 << 20
)

// ErrQueryFailed matches a DAX query the service answered with an error, be
// it with an error status or inside a 200. The error is a *QueryError.
var ErrQueryFailed = errors.New("powerbi: the DAX query failed")

// ErrResultTruncated matches a query result that reached one of the
// service's limits (DAXMaxRows, DAXMaxValues, DAXMaxBytes): the service
// stops there without saying so, so the rows may not be all of them.
var ErrResultTruncated = errors.New("powerbi: the DAX query result reached the service's limit and may be cut short")

// QueryError is an error the service gave for a DAX query.
type QueryError struct {
	Code    string
	Message string
}

func (e *QueryError) Error() string {
	return "powerbi: the DAX query failed: " + oneLine(strings.TrimSpace(e.Code+": "+e.Message), 400)
}

// Is matches ErrQueryFailed.
func (e *QueryError) Is(target error) bool { return target == ErrQueryFailed }

// QueryOptions are the choices of a typed DAX query.
type QueryOptions struct {
	// ImpersonatedUserName runs the query as this user, for row-level
	// security.
	ImpersonatedUserName string
	// IncludeNulls keeps columns whose value is null in the rows (the
	// service leaves them out by default); a missing column leaves its field
	// at its zero value either way.
	IncludeNulls bool
}

// Query runs one DAX query on a dataset in your My workspace and decodes its
// rows into T (see QueryInGroup).
func Query[T any](ctx context.Context, s *DatasetsService, datasetID, query string, opts *QueryOptions) ([]T, error) {
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return runQuery[T](ctx, s.client, "datasets/"+url.PathEscape(datasetID)+"/executeQueries", query, opts)
}

// QueryInGroup runs one DAX query (EVALUATE ...) on a dataset in a workspace
// through ExecuteQueriesInGroup and decodes its rows into a slice of T, a
// struct. A column goes to the field whose `dax` tag names it in full
// (`dax:"Sales[Amount]"`, `dax:"[Total]"`), else to the field whose name is
// the column's name without its table, ignoring case (Amount for
// Sales[Amount]); other columns are ignored. Values are decoded as JSON
// into the field's type.
//
// An error the service reports, with an error status or inside a 200, is a
// *QueryError (ErrQueryFailed). A result that reaches one of the service's
// limits (100,000 rows, 1,000,000 values, 15 MB) is refused with
// ErrResultTruncated rather than returned short: ask for less (TOPN, a
// filter) or page with a START AT.
func QueryInGroup[T any](ctx context.Context, s *DatasetsService, groupID, datasetID, query string, opts *QueryOptions) ([]T, error) {
	if err := checkGUIDs("groupID", groupID); err != nil {
		return nil, err
	}
	if err := checkDatasetID("datasetID", datasetID); err != nil {
		return nil, err
	}
	return runQuery[T](ctx, s.client, "groups/"+groupID+"/datasets/"+url.PathEscape(datasetID)+"/executeQueries", query, opts)
}

func runQuery[T any](ctx context.Context, c *Client, path, query string, opts *QueryOptions) ([]T, error) {
	fields, err := daxFields(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(query) == "" {
		return nil, invalid("query", "is empty")
	}
	var o QueryOptions
	if opts != nil {
		o = *opts
	}
	req := DatasetExecuteQueriesRequest{Queries: []DatasetExecuteQueriesQuery{{Query: query}}, ImpersonatedUserName: o.ImpersonatedUserName}
	if o.IncludeNulls {
		req.SerializerSettings = &DatasetExecuteQueriesSerializationSettings{IncludeNulls: true}
	}
	var raw json.RawMessage
	if _, err := c.send(ctx, &Request{Operation: inGroupOp("Datasets_ExecuteQueries", path), Method: http.MethodPost, Path: path, Body: req, Idempotent: true}, &raw); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest && strings.Contains(apiErr.Code, "ExecuteQueries") {
			return nil, fmt.Errorf("%w: %w", &QueryError{Code: apiErr.Code, Message: apiErr.Message}, err)
		}
		return nil, err
	}
	var resp DatasetExecuteQueriesResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("powerbi: decoding the DAX result: %w", ErrUnexpectedResponse)
	}
	rows, err := resp.rows()
	if err != nil {
		return nil, err
	}
	// The service stops before the row that would go over a limit, so a
	// result one row short of one is taken to have reached it.
	values, widest := 0, 0
	for _, r := range rows {
		values += len(r)
		widest = max(widest, len(r))
	}
	perRow := 0
	if len(rows) > 0 {
		perRow = len(raw)/len(rows) + 1
	}
	if len(rows) >= DAXMaxRows || values+widest > DAXMaxValues || len(raw)+perRow > DAXMaxBytes {
		return nil, fmt.Errorf("%w (%d rows, %d values, %d bytes; the limits are %d rows, %d values, %d bytes)",
			ErrResultTruncated, len(rows), values, len(raw), DAXMaxRows, DAXMaxValues, DAXMaxBytes)
	}
	out := make([]T, len(rows))
	for i, row := range rows {
		v := reflect.ValueOf(&out[i]).Elem()
		for col, val := range row {
			f, ok := fields.lookup(col)
			if !ok {
				continue
			}
			b, err := json.Marshal(val)
			if err == nil {
				err = json.Unmarshal(b, v.FieldByIndex(f.index).Addr().Interface())
			}
			if err != nil {
				return nil, fmt.Errorf("powerbi: row %d, column %s into %s.%s: %w", i, col, v.Type().Name(), f.name, err)
			}
		}
	}
	return out, nil
}

// rows are the rows of the one query's one table, or the error the service
// put in the answer in its stead.
func (r *DatasetExecuteQueriesResponse) rows() ([]map[string]any, error) {
	queryErr := func(e *DatasetExecuteQueriesError) error { return &QueryError{Code: e.Code, Message: e.Message} }
	if r.Error != nil {
		return nil, queryErr(r.Error)
	}
	if len(r.Results) == 0 {
		return nil, fmt.Errorf("powerbi: the DAX answer has no result: %w", ErrUnexpectedResponse)
	}
	res := r.Results[0]
	if res.Error != nil {
		return nil, queryErr(res.Error)
	}
	if len(res.Tables) == 0 {
		return nil, nil
	}
	if t := res.Tables[0]; t.Error != nil {
		return nil, queryErr(t.Error)
	}
	return res.Tables[0].Rows, nil
}

// daxField is where a column goes.
type daxField struct {
	name  string
	index []int
}

// daxFieldSet maps the columns of a result to the fields of a struct.
type daxFieldSet struct {
	byTag  map[string]daxField // the full column name
	byName map[string]daxField // a field's name, lower case
}

func (s *daxFieldSet) lookup(col string) (daxField, bool) {
	if f, ok := s.byTag[col]; ok {
		return f, true
	}
	name := col
	if i := strings.LastIndexByte(col, '['); i >= 0 && strings.HasSuffix(col, "]") {
		name = col[i+1 : len(col)-1]
	}
	f, ok := s.byName[strings.ToLower(strings.ReplaceAll(name, " ", ""))]
	return f, ok
}

var daxTypes sync.Map // reflect.Type → *daxFieldSet

func daxFields(t reflect.Type) (*daxFieldSet, error) {
	if s, ok := daxTypes.Load(t); ok {
		return s.(*daxFieldSet), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, invalid("T", "must be a struct to decode rows into, not %s", t)
	}
	s := &daxFieldSet{byTag: map[string]daxField{}, byName: map[string]daxField{}}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		df := daxField{name: f.Name, index: f.Index}
		if tag, ok := f.Tag.Lookup("dax"); ok {
			if tag == "-" {
				continue
			}
			s.byTag[tag] = df
			continue
		}
		s.byName[strings.ToLower(f.Name)] = df
	}
	daxTypes.Store(t, s)
	return s, nil
}
