package powerbitest

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
)

// createProfile is Profiles_CreateProfile: a service principal creates a
// profile of its own (a profile cannot create one).
func (s *Server) createProfile(c *call) {
	var req struct {
		DisplayName string `json:"displayName"`
	}
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil || strings.TrimSpace(req.DisplayName) == "" {
		s.badRequest(c, "displayName is required")
		return
	}
	s.mu.Lock()
	_, servicePrincipal := s.apps[c.caller.subject]
	s.mu.Unlock()
	switch {
	case !servicePrincipal:
		s.pbiError(c.w, http.StatusUnauthorized, "PowerBINotAuthorizedException", "only a service principal has profiles")
		return
	case c.profile != "":
		s.badRequest(c, "a profile cannot create profiles")
		return
	}
	s.mu.Lock()
	for _, p := range s.profiles {
		if p.owner == c.caller.subject && strings.EqualFold(p.displayName, req.DisplayName) {
			s.mu.Unlock()
			s.pbiError(c.w, http.StatusConflict, "PrincipalProfileAlreadyExists", "a profile with this display name exists")
			return
		}
	}
	s.mu.Unlock()
	id := s.AddProfile(c.caller.subject, req.DisplayName)
	writeJSON(c.w, http.StatusCreated, map[string]string{"id": id, "displayName": req.DisplayName})
}

// getProfiles is Profiles_GetProfiles: the caller's own profiles.
func (s *Server) getProfiles(c *call) {
	s.mu.Lock()
	var out []map[string]string
	for _, p := range s.profiles {
		if p.owner == c.caller.subject {
			out = append(out, map[string]string{"id": p.id, "displayName": p.displayName})
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i]["displayName"] < out[j]["displayName"] })
	s.odata(c, "profiles", orEmpty(out))
}

// deleteProfile is Profiles_DeleteProfile: only its owner deletes it.
func (s *Server) deleteProfile(c *call) {
	id := strings.ToLower(c.r.PathValue("profile"))
	s.mu.Lock()
	p := s.profiles[id]
	mine := p != nil && p.owner == c.caller.subject
	if mine {
		delete(s.profiles, id)
	}
	s.mu.Unlock()
	if !mine {
		s.notFound(c)
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

// createGroup is Groups_CreateGroup: a workspace whose only member is the
// principal in effect, the profile when the call is made as one. What a
// profile creates is visible to it alone, not to its service principal nor to
// its other profiles.
func (s *Server) createGroup(c *call) {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil || strings.TrimSpace(req.Name) == "" {
		s.badRequest(c, "name is required")
		return
	}
	s.mu.Lock()
	for _, w := range s.workspaces {
		if strings.EqualFold(w.Name, req.Name) {
			s.mu.Unlock()
			s.pbiError(c.w, http.StatusConflict, "PowerBIEntityAlreadyExists", "a workspace with this name exists")
			return
		}
	}
	s.mu.Unlock()
	ws := s.AddWorkspace(Workspace{Name: req.Name, Members: []string{c.principal}})
	s.mu.Lock()
	out := s.workspaces[ws.ID].group()
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, out)
}
