package powerbi

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Documented limits of the GenerateToken calls (docs/service.md).
const (
	maxV2Items          = 50  // reports, datasets and target workspaces in one V2 request
	maxUsernameLen      = 256 // EffectiveIdentity.username
	maxRoles            = 50  // roles in one identity
	maxRoleLen          = 50  // characters in one role name
	maxDatasetIDLen     = 128
	maxCustomDataLength = 1024
)

// isGUID reports whether s is a GUID in its canonical 8-4-4-4-12 form. A GUID
// needs no path escaping, so validated IDs go into paths as they are.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// checkGUIDs validates pairs of (field name, value) as GUIDs.
func checkGUIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkGUID(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func checkGUID(field, v string) error {
	if v == "" {
		return invalid(field, "is empty; want a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
	}
	if !isGUID(v) {
		return invalid(field, "must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), got %d characters", len(v))
	}
	return nil
}

// checkDatasetID validates a dataset ID. Dataset IDs are usually GUIDs but are
// not documented as such; anything that could change the request's path or
// query is refused, and the rest is path-escaped.
func checkDatasetID(field, v string) error {
	switch {
	case v == "":
		return invalid(field, "is empty")
	case len(v) > maxDatasetIDLen:
		return invalid(field, "is %d bytes long; at most %d are allowed", len(v), maxDatasetIDLen)
	case v == "." || v == "..":
		return invalid(field, "must not be a path segment such as %q", v)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`/\?#%`, r) {
			return invalid(field, "must not contain spaces, control characters or any of / \\ ? # %%")
		}
	}
	return nil
}

// maxSegmentLen bounds a path parameter that is not a GUID.
const maxSegmentLen = 1024

// checkSegment validates a path parameter that is not a GUID (a table name, a
// page name, an e-mail address): it is path-escaped, so only what would make
// no sense in any path is refused.
func checkSegment(field, v string) error {
	switch {
	case v == "":
		return invalid(field, "is empty")
	case len(v) > maxSegmentLen:
		return invalid(field, "is %d bytes long; at most %d are allowed", len(v), maxSegmentLen)
	case v == "." || v == "..":
		return invalid(field, "must not be a path segment such as %q", v)
	case strings.ContainsFunc(v, unicode.IsControl):
		return invalid(field, "must not contain control characters")
	}
	return nil
}

// odataString is v as an OData string literal inside a path segment
// (featureName='...'): quotes doubled, then path-escaped.
func odataString(v string) string {
	return url.PathEscape(strings.ReplaceAll(v, "'", "''"))
}

func checkLifetime(minutes int) error {
	if minutes < 0 {
		return invalid("lifetimeInMinutes", "must be 0 (not set) or positive, got %d", minutes)
	}
	return nil
}

func checkIdentities(ids []EffectiveIdentity) error {
	for i := range ids {
		if err := ids[i].validate(fieldIndex("identities", i)); err != nil {
			return err
		}
	}
	return nil
}

func (id *EffectiveIdentity) validate(field string) error {
	if id.Username == "" && id.IdentityBlob == nil {
		return invalid(field+".username", "is empty; an identity needs a username (or an identityBlob)")
	}
	if n := utf8.RuneCountInString(id.Username); n > maxUsernameLen {
		return invalid(field+".username", "is %d characters long; at most %d are allowed", n, maxUsernameLen)
	}
	// The no-space rule is for dataset (RLS) identities, where the username is a
	// UPN; a paginated report takes any text (the swagger's own example sends
	// "John Smith").
	if len(id.Reports) == 0 && strings.ContainsFunc(id.Username, unicode.IsSpace) {
		return invalid(field+".username", "must not contain spaces")
	}
	if len(id.Roles) > maxRoles {
		return invalid(field+".roles", "at most %d roles are allowed, got %d", maxRoles, len(id.Roles))
	}
	for j, role := range id.Roles {
		f := fieldIndex(field+".roles", j)
		switch {
		case role == "":
			return invalid(f, "is empty")
		case utf8.RuneCountInString(role) > maxRoleLen:
			return invalid(f, "is %d characters long; at most %d are allowed", utf8.RuneCountInString(role), maxRoleLen)
		case strings.Contains(role, ","):
			return invalid(f, "must not contain a comma")
		}
	}
	for j, ds := range id.Datasets {
		if err := checkDatasetID(fieldIndex(field+".datasets", j), ds); err != nil {
			return err
		}
	}
	for j, r := range id.Reports {
		if err := checkGUID(fieldIndex(field+".reports", j), r); err != nil {
			return err
		}
	}
	if len(id.CustomData) > maxCustomDataLength {
		return invalid(field+".customData", "is %d bytes long; at most %d are allowed", len(id.CustomData), maxCustomDataLength)
	}
	if id.IdentityBlob != nil && id.IdentityBlob.Value == "" {
		return invalid(field+".identityBlob.value", "is empty")
	}
	return nil
}

// validate checks a V1 request. create is true for GenerateTokenForCreateInGroup.
func (r *GenerateTokenRequest) validate(create bool) error {
	switch r.AccessLevel {
	case "", TokenAccessLevelView, TokenAccessLevelEdit:
		if create && r.AccessLevel != "" {
			return invalid("accessLevel", "must be Create (or empty) for report creation, got %q", r.AccessLevel)
		}
	case TokenAccessLevelCreate:
		if !create {
			return invalid("accessLevel", "Create is only valid with GenerateTokenForCreateInGroup")
		}
	default:
		return invalid("accessLevel", "must be View, Edit or Create, got %q", oneLine(string(r.AccessLevel), 20))
	}
	if create {
		if err := checkDatasetID("datasetId", r.DatasetID); err != nil {
			return err
		}
	} else if r.DatasetID != "" {
		return invalid("datasetId", "is only used for report creation (GenerateTokenForCreateInGroup)")
	}
	if err := checkLifetime(r.LifetimeInMinutes); err != nil {
		return err
	}
	return checkIdentities(r.Identities)
}

func (r *GenerateTokenRequestV2) validate() error {
	if len(r.Reports) == 0 && len(r.Datasets) == 0 {
		return invalid("request", "needs at least one report or dataset")
	}
	if len(r.Reports) > maxV2Items {
		return invalid("reports", "at most %d reports are allowed, got %d", maxV2Items, len(r.Reports))
	}
	if len(r.Datasets) > maxV2Items {
		return invalid("datasets", "at most %d datasets are allowed, got %d", maxV2Items, len(r.Datasets))
	}
	if len(r.TargetWorkspaces) > maxV2Items {
		return invalid("targetWorkspaces", "at most %d target workspaces are allowed, got %d", maxV2Items, len(r.TargetWorkspaces))
	}
	for i, rep := range r.Reports {
		if err := checkGUID(fieldIndex("reports", i)+".id", rep.ID); err != nil {
			return err
		}
	}
	for i, ds := range r.Datasets {
		if err := checkDatasetID(fieldIndex("datasets", i)+".id", ds.ID); err != nil {
			return err
		}
		switch ds.XmlaPermissions {
		case "", XmlaPermissionsOff, XmlaPermissionsReadOnly:
		default:
			return invalid(fieldIndex("datasets", i)+".xmlaPermissions", "must be Off or ReadOnly")
		}
	}
	for i, ws := range r.TargetWorkspaces {
		if err := checkGUID(fieldIndex("targetWorkspaces", i)+".id", ws.ID); err != nil {
			return err
		}
	}
	for i, dsi := range r.DatasourceIdentities {
		if dsi.IdentityBlob == "" || len(dsi.Datasources) == 0 {
			return invalid(fieldIndex("datasourceIdentities", i), "needs an identityBlob and at least one datasource")
		}
	}
	if err := checkLifetime(r.LifetimeInMinutes); err != nil {
		return err
	}
	return checkIdentities(r.Identities)
}

func fieldIndex(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}
