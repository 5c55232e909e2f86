package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// GroupUpdate is Marathon's GroupUpdate, the body of POST and PUT /v2/groups. A nil field was
// absent or null and changes nothing. Apps are kept as their JSON until Tree.Update decodes them
// against the group they belong to. Unknown fields (such as the pods, version details and task
// counts of a GroupInfo that a client sends back) are ignored.
type GroupUpdate struct {
	ID           *string
	Apps         []json.RawMessage
	Groups       []*GroupUpdate
	Dependencies []string
	ScaleBy      *float64
	Version      *string
	EnforceRole  *bool
}

// DecodeGroupUpdate reads a GroupUpdate. Errors are *InvalidJSONError (400) or *ValidationError
// (422, with the JSON path of the offending field).
func DecodeGroupUpdate(body []byte) (*GroupUpdate, error) {
	if _, err := object(body); err != nil {
		return nil, err
	}
	return decodeGroupUpdate(body, "")
}

func decodeGroupUpdate(raw json.RawMessage, path string) (*GroupUpdate, error) {
	var w struct {
		ID           *string           `json:"id"`
		Apps         []json.RawMessage `json:"apps"`
		Groups       []json.RawMessage `json:"groups"`
		Dependencies []string          `json:"dependencies"`
		ScaleBy      *float64          `json:"scaleBy"`
		Version      *string           `json:"version"`
		EnforceRole  *bool             `json:"enforceRole"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, prefixed(decodeError(err), path)
	}
	u := &GroupUpdate{ID: w.ID, Apps: w.Apps, Dependencies: w.Dependencies, ScaleBy: w.ScaleBy, Version: w.Version, EnforceRole: w.EnforceRole}
	var v violations
	if u.ScaleBy != nil && *u.ScaleBy < 0 {
		v.add(path+"/scaleBy", "got %s, expected 0 or more", fmtNum(*u.ScaleBy))
	}
	if u.Version != nil {
		if _, err := ParseVersion(*u.Version); err != nil {
			v.add(path+"/version", "error.expected.date.isoformat")
		}
	}
	if w.Groups != nil {
		u.Groups = make([]*GroupUpdate, 0, len(w.Groups))
		for i, g := range w.Groups {
			sub, err := decodeGroupUpdate(g, fmt.Sprintf("%s/groups(%d)", path, i))
			if err != nil {
				var invalid *ValidationError
				if !errors.As(err, &invalid) {
					return nil, err
				}
				mergeInto(&v, err)
				continue
			}
			u.Groups = append(u.Groups, sub)
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return u, nil
}

// prefixed puts path in front of the paths of a *ValidationError's details.
func prefixed(err error, path string) error {
	var invalid *ValidationError
	if path == "" || !errors.As(err, &invalid) {
		return err
	}
	out := &ValidationError{}
	for _, d := range invalid.Details {
		p := path
		if d.Path != "/" {
			p += d.Path
		}
		out.Details = append(out.Details, Detail{Path: p, Errors: d.Errors})
	}
	return out
}

// notChild is Marathon's message for an id that is not a direct child of its group.
func notChild(group string) string {
	return "Identifier is not child of " + group + ". Hint: use relative paths."
}

// Update applies a structural GroupUpdate to the group id (created if it does not exist), as
// Marathon's group update does: a list that is given replaces the group's list (apps not in
// `apps` are removed, child groups not in `groups` are removed with everything below them; a
// child group that is listed is updated the same way, recursively), and what is absent is kept.
// Apps are whole definitions whose ids (and relative dependencies) are resolved against the group
// and must be its direct children, as must the ids of child groups; the group's dependencies are
// resolved against the group itself. The groups named become explicit; their specs carry no
// version until a deployment stamps one. Problems are reported together as a *ValidationError
// with the JSON path of each ("/apps(0)/id", "/groups(1)/apps(0)/cmd", ...).
func (t *Tree) Update(id string, u *GroupUpdate) error {
	var v violations
	t.update(id, u, "", &v)
	return v.err()
}

func (t *Tree) update(id string, u *GroupUpdate, path string, v *violations) {
	spec := &GroupSpec{ID: id, Dependencies: []string{}}
	if cur := t.Groups[id]; cur != nil {
		spec = cur.Clone()
		spec.Version = ""
	}
	if u.Dependencies != nil {
		spec.Dependencies = make([]string, 0, len(u.Dependencies))
		seen := map[string]bool{}
		for k, d := range u.Dependencies {
			abs, err := ParseGroupID(d, id)
			if err != nil {
				v.add(fmt.Sprintf("%s/dependencies(%d)", path, k), "%s", err.Error())
				continue
			}
			if !seen[abs] {
				seen[abs] = true
				spec.Dependencies = append(spec.Dependencies, abs)
			}
		}
		sort.Strings(spec.Dependencies)
	}
	if u.EnforceRole != nil {
		spec.EnforceRole = *u.EnforceRole
	}
	if id != RootID || t.Groups[id] != nil || len(spec.Dependencies) > 0 || spec.EnforceRole {
		t.Groups[id] = spec
	}

	if u.Apps != nil {
		apps := make([]*App, 0, len(u.Apps))
		seen := map[string]bool{}
		for i, raw := range u.Apps {
			p := fmt.Sprintf("%s/apps(%d)", path, i)
			a, err := decodeGroupApp(raw, id)
			if err != nil {
				mergeInto(v, prefixed(err, p))
				continue
			}
			if seen[a.ID] {
				v.add(p+"/id", "duplicate app id %s", a.ID)
				continue
			}
			seen[a.ID] = true
			apps = append(apps, a)
		}
		for aid := range t.Apps {
			if Parent(aid) == id {
				delete(t.Apps, aid)
			}
		}
		for _, a := range apps {
			t.Apps[a.ID] = a
		}
	}

	if u.Groups != nil {
		var existing []string
		for _, gid := range t.GroupIDs() {
			if gid != RootID && Parent(gid) == id {
				existing = append(existing, gid)
			}
		}
		listed := map[string]bool{}
		for i, sub := range u.Groups {
			p := fmt.Sprintf("%s/groups(%d)", path, i)
			if sub.ID == nil {
				v.add(p+"/id", "error.path.missing")
				continue
			}
			gid, err := ParseGroupID(*sub.ID, id)
			switch {
			case err != nil:
				v.add(p+"/id", "%s", err.Error())
				continue
			case gid == RootID || Parent(gid) != id:
				v.add(p+"/id", "%s", notChild(id))
				continue
			case listed[gid]:
				v.add(p+"/id", "duplicate group id %s", gid)
				continue
			}
			listed[gid] = true
			t.update(gid, sub, p, v)
		}
		for _, gid := range existing {
			if !listed[gid] {
				t.Remove(gid)
			}
		}
	}
}

// decodeGroupApp reads one app of a group update: its id (required) is resolved against the
// group and must be a direct child of it; the app is normalized and validated.
func decodeGroupApp(raw json.RawMessage, group string) (*App, error) {
	a, err := Decode(raw)
	if err != nil {
		var invalidJSON *InvalidJSONError
		if errors.As(err, &invalidJSON) {
			return nil, &ValidationError{Details: []Detail{{Path: "/", Errors: []string{"error.expected.jsobject"}}}}
		}
		return nil, err
	}
	if a.ID == "" {
		return nil, &ValidationError{Details: []Detail{{Path: "/id", Errors: []string{"error.path.missing"}}}}
	}
	abs, err := ParseID(a.ID, group)
	if err != nil {
		return nil, &ValidationError{Details: []Detail{{Path: "/id", Errors: []string{err.Error()}}}}
	}
	if Parent(abs) != group {
		return nil, &ValidationError{Details: []Detail{{Path: "/id", Errors: []string{notChild(group)}}}}
	}
	a.ID = abs
	if err := a.Normalize(); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// mergeInto adds the details of a *ValidationError to v.
func mergeInto(v *violations, err error) {
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		v.add("/", "%s", err.Error())
		return
	}
	for _, d := range invalid.Details {
		for _, e := range d.Errors {
			v.add(d.Path, "%s", e)
		}
	}
}
