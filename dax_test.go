package powerbi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gopowerbi/powerbi"
)

type salesRow struct {
	Region string  // Sales[Region], by name
	Amount float64 `dax:"Sales[Amount]"`
	Units  int
	Note   string `dax:"-"`
}

// A DAX query's rows decoded into structs, by tag and by name; an error
// inside a 200 and an error status are *QueryError; a result at the
// service's limit is refused rather than returned short.
func TestQueryInGroup(t *testing.T) {
	e := newE2E(t)
	c := e.demoClient(t)
	ctx := context.Background()
	e.srv.AddTable(e.demo.DatasetID, "Sales",
		map[string]any{"Region": "West", "Amount": 1250.5, "Units": 10},
		map[string]any{"Region": "East", "Amount": 99.25, "Units": 3, "Ignored": true},
	)
	rows, err := powerbi.QueryInGroup[salesRow](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'Sales'", nil)
	require.NoError(t, err)
	assert.Equal(t, []salesRow{{Region: "West", Amount: 1250.5, Units: 10}, {Region: "East", Amount: 99.25, Units: 3}}, rows)

	type total struct {
		Total float64 `dax:"[Total]"`
	}
	const q = `EVALUATE ROW("Total", SUM(Sales[Amount]))`
	e.srv.SetQueryRows(e.demo.DatasetID, q, []map[string]any{{"[Total]": 1349.75}})
	totals, err := powerbi.QueryInGroup[total](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, q, nil)
	require.NoError(t, err)
	assert.Equal(t, []total{{1349.75}}, totals)

	e.srv.SetQueryError(e.demo.DatasetID, "EVALUATE 'Broken'", "DatasetExecuteQueriesError", "Query (1, 10) The column 'X' could not be found.")
	_, err = powerbi.QueryInGroup[salesRow](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'Broken'", nil)
	require.ErrorIs(t, err, powerbi.ErrQueryFailed, "an error inside a 200")
	assert.Contains(t, err.Error(), "could not be found")

	_, err = powerbi.QueryInGroup[salesRow](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'Nowhere'", nil)
	require.ErrorIs(t, err, powerbi.ErrQueryFailed, "an error status")
	var apiErr *powerbi.APIError
	require.ErrorAs(t, err, &apiErr, "the response stays reachable")
	assert.Equal(t, 400, apiErr.StatusCode)

	big := make([]map[string]any, 100_001)
	for i := range big {
		big[i] = map[string]any{"Region": fmt.Sprint("r", i)}
	}
	e.srv.AddTable(e.demo.DatasetID, "Big", big...)
	_, err = powerbi.QueryInGroup[salesRow](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'Big'", nil)
	require.ErrorIs(t, err, powerbi.ErrResultTruncated, "the fake cut it at 100,000 rows, as the service does")
	assert.Contains(t, err.Error(), "100000 rows")

	wide := make([]map[string]any, 60_000)
	for i := range wide {
		wide[i] = map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16, "q": 17}
	}
	e.srv.AddTable(e.demo.DatasetID, "Wide", wide...)
	_, err = powerbi.QueryInGroup[salesRow](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'Wide'", nil)
	require.ErrorIs(t, err, powerbi.ErrResultTruncated, "cut at 1,000,000 values")

	before := len(e.srv.Requests())
	_, err = powerbi.QueryInGroup[salesRow](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, " ", nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument)
	_, err = powerbi.QueryInGroup[int](ctx, c.Datasets, e.demo.WorkspaceID, e.demo.DatasetID, "EVALUATE 'Sales'", nil)
	assert.ErrorIs(t, err, powerbi.ErrInvalidArgument, "rows decode into a struct")
	assert.Len(t, e.srv.Requests(), before, "nothing sent")
}
