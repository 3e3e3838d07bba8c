package powerbi

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// GroupsService calls the Groups (workspaces) operations.
// See https://learn.microsoft.com/rest/api/power-bi/groups
type GroupsService service

// GetGroupsOptions are the OData query options of GetGroups.
type GetGroupsOptions struct {
	// Filter is an OData $filter, e.g. "contains(name,'marketing')". It is
	// query-escaped by the SDK: pass it unescaped.
	Filter string
	// Top is $top, the page size; 0 leaves it unset (GetGroupsIter then pages by 1000).
	Top int
	// Skip is $skip, the number of workspaces to skip.
	Skip int
}

// defaultGroupsPage is GetGroupsIter's page size when Top is not set.
const defaultGroupsPage = 1000

func (o *GetGroupsOptions) validate() error {
	switch {
	case o.Top < 0:
		return invalid("GetGroupsOptions.Top", "must not be negative, got %d", o.Top)
	case o.Skip < 0:
		return invalid("GetGroupsOptions.Skip", "must not be negative, got %d", o.Skip)
	case len(o.Filter) > 4096:
		return invalid("GetGroupsOptions.Filter", "is %d bytes long; at most 4096 are allowed", len(o.Filter))
	case strings.ContainsFunc(o.Filter, unicode.IsControl):
		return invalid("GetGroupsOptions.Filter", "must not contain control characters")
	}
	return nil
}

// query renders the options with literal "$" names, as the service documents them.
func (o *GetGroupsOptions) query(top, skip int) string {
	var q []string
	if o.Filter != "" {
		q = append(q, "$filter="+strings.ReplaceAll(url.QueryEscape(o.Filter), "+", "%20"))
	}
	if top > 0 {
		q = append(q, "$top="+strconv.Itoa(top))
	}
	if skip > 0 {
		q = append(q, "$skip="+strconv.Itoa(skip))
	}
	return strings.Join(q, "&")
}

// GetGroups returns one page of the workspaces the caller can access. opts may be nil.
//
// https://learn.microsoft.com/rest/api/power-bi/groups/get-groups
func (s *GroupsService) GetGroups(ctx context.Context, opts *GetGroupsOptions) ([]Group, error) {
	if opts == nil {
		opts = &GetGroupsOptions{}
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return callList[Group](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups", rawQuery: opts.query(opts.Top, opts.Skip)})
}

// GetGroupsIter returns every workspace the caller can access, fetching pages
// with $top and $skip until a page comes back shorter than $top (the service
// sends no next link). opts may be nil; its Top is the page size. The
// iteration stops at the first error, which it yields.
//
// https://learn.microsoft.com/rest/api/power-bi/groups/get-groups
func (s *GroupsService) GetGroupsIter(ctx context.Context, opts *GetGroupsOptions) iter.Seq2[Group, error] {
	return func(yield func(Group, error) bool) {
		o := GetGroupsOptions{}
		if opts != nil {
			o = *opts
		}
		if err := o.validate(); err != nil {
			yield(Group{}, err)
			return
		}
		page := o.Top
		if page == 0 {
			page = defaultGroupsPage
		}
		for skip := o.Skip; ; {
			groups, err := callList[Group](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups", rawQuery: o.query(page, skip)})
			if err != nil {
				yield(Group{}, err)
				return
			}
			for _, g := range groups {
				if !yield(g, nil) {
					return
				}
			}
			if len(groups) < page {
				return
			}
			skip += len(groups)
		}
	}
}

// GetGroup returns a workspace.
//
// https://learn.microsoft.com/rest/api/power-bi/groups/get-group
func (s *GroupsService) GetGroup(ctx context.Context, groupID string) (*Group, error) {
	if err := checkGUID("groupID", groupID); err != nil {
		return nil, err
	}
	return callJSON[Group](ctx, s.client, &Request{Method: http.MethodGet, Path: "groups/" + groupID})
}
