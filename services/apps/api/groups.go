package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"strata/services/apps/app"
	"strata/services/apps/deploy"
	"strata/services/apps/framework"
)

// GroupDeployer is what the group endpoints need from the deployment manager.
type GroupDeployer interface {
	Tree() *app.Tree
	TreeAt(ctx context.Context, version, group string) (*app.Tree, error)
	GroupVersions(ctx context.Context, id string) ([]string, error)
	DeployTree(ctx context.Context, edit func(t *app.Tree) error, force, dryRun bool) (*deploy.Deployment, error)
}

// dispatchGroup routes /v2/groups[/{id}][/versions[/{version}]] by method: GET shows a group
// (or its versions, or a version of it), POST creates one, PUT changes (or creates) one,
// rolls it back ({"version": ...}) or scales it ({"scaleBy": ...}), PATCH sets enforceRole and
// DELETE removes one with everything below it. As in Marathon, a trailing "versions" segment
// names the versions endpoint, not a group.
func (s *Server) dispatchGroup(c *gin.Context) {
	segs := app.Segments(c.Param("rest"))
	n := len(segs)
	switch c.Request.Method {
	case http.MethodGet:
		switch {
		case n >= 1 && segs[n-1] == "versions":
			s.groupVersions(c, segs[:n-1])
		case n >= 2 && segs[n-2] == "versions":
			s.groupAtVersion(c, segs[:n-2], segs[n-1])
		default:
			s.getGroup(c, segs)
		}
	case http.MethodPost:
		s.putGroup(c, segs, true)
	case http.MethodPut:
		s.putGroup(c, segs, false)
	case http.MethodPatch:
		s.patchGroup(c, segs)
	case http.MethodDelete:
		s.deleteGroup(c, segs)
	default:
		message(c, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	}
}

func (s *Server) groups() GroupDeployer { return s.cfg.Deployer }

// groupID is the group id of the URL ("/" for /v2/groups).
func groupID(segs []string) (string, error) {
	return app.ParseGroupID("/"+strings.Join(segs, "/"), "/")
}

// failGroup answers the group errors (404, 409) and hands the others to fail.
func (s *Server) failGroup(c *gin.Context, err error) {
	var (
		notFound *deploy.GroupNotFoundError
		exists   *deploy.GroupExistsError
	)
	switch {
	case errors.As(err, &notFound):
		message(c, http.StatusNotFound, notFound.Error())
	case errors.As(err, &exists):
		message(c, http.StatusConflict, exists.Error())
	default:
		s.fail(c, err)
	}
}

// groupEmbed says what a group shows: its child groups, apps and pods (Marathon's default is all
// three), and for apps the task counts, deployments, tasks and last task failure.
type groupEmbed struct {
	groups, apps, pods                          bool
	counts, deployments, tasks, lastTaskFailure bool
}

func groupEmbeds(c *gin.Context) groupEmbed {
	e := embeds(c)
	if len(e) == 0 {
		return groupEmbed{groups: true, apps: true, pods: true}
	}
	return groupEmbed{
		groups: e["group.groups"], apps: e["group.apps"], pods: e["group.pods"],
		counts:          e["group.apps.counts"] || e["group.apps.count"], // the RAML's enum spells it "count"
		deployments:     e["group.apps.deployments"],
		tasks:           e["group.apps.tasks"],
		lastTaskFailure: e["group.apps.lastTaskFailure"],
	}
}

// groupInfo is Marathon's GroupInfo.
type groupInfo struct {
	ID           string       `json:"id"`
	Apps         *[]groupApp  `json:"apps,omitempty"`
	Groups       *[]groupInfo `json:"groups,omitempty"`
	Pods         *[]any       `json:"pods,omitempty"`
	Dependencies []string     `json:"dependencies"`
	Version      string       `json:"version"`
	EnforceRole  *bool        `json:"enforceRole,omitempty"`
}

// groupApp is an app of a group, with what the embeds ask for.
type groupApp struct {
	*app.App
	TasksStaged     *int                   `json:"tasksStaged,omitempty"`
	TasksRunning    *int                   `json:"tasksRunning,omitempty"`
	TasksHealthy    *int                   `json:"tasksHealthy,omitempty"`
	TasksUnhealthy  *int                   `json:"tasksUnhealthy,omitempty"`
	Deployments     *[]ref                 `json:"deployments,omitempty"`
	Tasks           *[]task                `json:"tasks,omitempty"`
	LastTaskFailure *framework.TaskFailure `json:"lastTaskFailure,omitempty"`
}

// renderGroup renders a group; live adds what runs of its apps (false for a past version).
func (s *Server) renderGroup(n *app.Node, e groupEmbed, live bool) groupInfo {
	out := groupInfo{ID: n.ID, Dependencies: n.Dependencies, Version: n.Version}
	if n.ID != app.RootID {
		enforce := n.EnforceRole
		out.EnforceRole = &enforce
	}
	if e.apps {
		apps := make([]groupApp, 0, len(n.Apps))
		for _, a := range n.Apps {
			apps = append(apps, s.renderGroupApp(a, e, live))
		}
		out.Apps = &apps
	}
	if e.groups {
		groups := make([]groupInfo, 0, len(n.Groups))
		for _, g := range n.Groups {
			groups = append(groups, s.renderGroup(g, e, live))
		}
		out.Groups = &groups
	}
	if e.pods {
		out.Pods = &[]any{}
	}
	return out
}

func (s *Server) renderGroupApp(a *app.App, e groupEmbed, live bool) groupApp {
	out := groupApp{App: a}
	if !live || !(e.counts || e.deployments || e.tasks || e.lastTaskFailure) {
		return out
	}
	info := s.appInfo(a, embed{tasks: e.tasks, lastTaskFailure: e.lastTaskFailure})
	if e.counts {
		out.TasksStaged, out.TasksRunning = &info.TasksStaged, &info.TasksRunning
		out.TasksHealthy, out.TasksUnhealthy = &info.TasksHealthy, &info.TasksUnhealthy
	}
	if e.deployments {
		out.Deployments = &info.Deployments
	}
	out.Tasks, out.LastTaskFailure = info.Tasks, info.LastTaskFailure
	return out
}

func (s *Server) getGroup(c *gin.Context, segs []string) {
	id, err := groupID(segs)
	if err != nil {
		s.failGroup(c, &deploy.GroupNotFoundError{ID: "/" + strings.Join(segs, "/")})
		return
	}
	n, ok := s.groups().Tree().Node(id)
	if !ok {
		s.failGroup(c, &deploy.GroupNotFoundError{ID: id})
		return
	}
	writeJSON(c, http.StatusOK, s.renderGroup(n, groupEmbeds(c), true))
}

// groupVersions answers the root versions at which the group existed, newest first, as a JSON
// array.
func (s *Server) groupVersions(c *gin.Context, segs []string) {
	id, err := groupID(segs)
	if err != nil {
		s.failGroup(c, &deploy.GroupNotFoundError{ID: "/" + strings.Join(segs, "/")})
		return
	}
	versions, err := s.groups().GroupVersions(c.Request.Context(), id)
	if err != nil {
		s.failGroup(c, err)
		return
	}
	if versions == nil {
		versions = []string{}
	}
	writeJSON(c, http.StatusOK, versions)
}

// groupAtVersion answers the group as it was at a root version (its apps without what runs).
func (s *Server) groupAtVersion(c *gin.Context, segs []string, version string) {
	id, err := groupID(segs)
	if err != nil {
		s.failGroup(c, &deploy.GroupNotFoundError{ID: "/" + strings.Join(segs, "/")})
		return
	}
	t, err := s.versionTree(c.Request.Context(), id, version)
	if err != nil {
		s.failGroup(c, err)
		return
	}
	n, _ := t.Node(id)
	writeJSON(c, http.StatusOK, s.renderGroup(n, groupEmbeds(c), false))
}

// versionTree returns the tree below group id at a root version, or a *GroupNotFoundError when
// the version is not stored or the group did not exist at it.
func (s *Server) versionTree(ctx context.Context, id, version string) (*app.Tree, error) {
	t, err := s.groups().TreeAt(ctx, version, id)
	if errors.Is(err, deploy.ErrVersionNotFound) || (err == nil && !t.HasGroup(id)) {
		return nil, &deploy.GroupNotFoundError{ID: id, Version: version}
	}
	return t, err
}

// putGroup handles POST (create) and PUT (change or create) of a group: the body's id, if any,
// is resolved against the URL's group. PUT with a version rolls the group back to it, with
// scaleBy scales every app below it (a version wins over scaleBy, and either over the rest of the
// body, as Marathon documents); otherwise the body is a structural update (app.Tree.Update).
// ?dryRun=true answers the plan's steps instead of deploying.
func (s *Server) putGroup(c *gin.Context, segs []string, create bool) {
	base, err := groupID(segs)
	if err != nil {
		s.fail(c, &app.ValidationError{Details: []app.Detail{{Path: "/id", Errors: []string{err.Error()}}}})
		return
	}
	raw, err := body(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := app.DecodeGroupUpdate(raw)
	if err != nil {
		s.fail(c, err)
		return
	}
	id := base
	if u.ID != nil {
		if id, err = app.ParseGroupID(*u.ID, base); err != nil {
			s.fail(c, &app.ValidationError{Details: []app.Detail{{Path: "/id", Errors: []string{err.Error()}}}})
			return
		}
	}
	ctx := c.Request.Context()
	var change func(t *app.Tree) error
	switch {
	case u.Version != nil:
		old, err := s.versionTree(ctx, id, *u.Version)
		if err != nil {
			s.failGroup(c, err)
			return
		}
		change = func(t *app.Tree) error {
			t.Replace(id, old)
			return nil
		}
	case u.ScaleBy != nil && !create:
		change = func(t *app.Tree) error {
			if !t.HasGroup(id) {
				return &deploy.GroupNotFoundError{ID: id}
			}
			return t.Scale(id, *u.ScaleBy)
		}
	default:
		change = func(t *app.Tree) error { return t.Update(id, u) }
	}
	edit := change
	if create {
		edit = func(t *app.Tree) error {
			if _, ok := t.Apps[id]; ok {
				return &deploy.GroupExistsError{ID: id, IsApp: true}
			}
			if t.HasGroup(id) {
				return &deploy.GroupExistsError{ID: id}
			}
			return change(t)
		}
	}
	dryRun := !create && flag(c, "dryRun", false)
	d, err := s.groups().DeployTree(ctx, edit, flag(c, "force", false), dryRun)
	if err != nil {
		s.failGroup(c, err)
		return
	}
	switch {
	case dryRun:
		steps := d.Steps
		if steps == nil {
			steps = []deploy.Step{}
		}
		writeJSON(c, http.StatusOK, gin.H{"steps": steps})
	case create:
		c.Header("Location", "/v2/groups"+strings.TrimSuffix(id, "/"))
		deployed(c, http.StatusCreated, d)
	default:
		deployed(c, http.StatusOK, d)
	}
}

// patchGroup sets a group's enforceRole (Marathon's GroupPartialUpdate; absent means false).
// Strata stores and shows it but places apps the same either way. It answers 200 with no body.
func (s *Server) patchGroup(c *gin.Context, segs []string) {
	id, err := groupID(segs)
	if err != nil {
		s.failGroup(c, &deploy.GroupNotFoundError{ID: "/" + strings.Join(segs, "/")})
		return
	}
	raw, err := body(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	u, err := app.DecodeGroupUpdate(raw)
	if err != nil {
		s.fail(c, err)
		return
	}
	_, err = s.groups().DeployTree(c.Request.Context(), func(t *app.Tree) error {
		if !t.HasGroup(id) {
			return &deploy.GroupNotFoundError{ID: id}
		}
		spec := &app.GroupSpec{ID: id, Dependencies: []string{}}
		if cur := t.Groups[id]; cur != nil {
			spec = cur.Clone()
		}
		spec.EnforceRole = u.EnforceRole != nil && *u.EnforceRole
		t.Groups[id] = spec
		return nil
	}, flag(c, "force", false), false)
	if err != nil {
		s.failGroup(c, err)
		return
	}
	c.Status(http.StatusOK)
}

// deleteGroup removes a group with every app and group below it (DELETE /v2/groups: everything),
// as one deployment that stops the apps, dependents first.
func (s *Server) deleteGroup(c *gin.Context, segs []string) {
	id, err := groupID(segs)
	if err != nil {
		s.failGroup(c, &deploy.GroupNotFoundError{ID: "/" + strings.Join(segs, "/")})
		return
	}
	d, err := s.groups().DeployTree(c.Request.Context(), func(t *app.Tree) error {
		if !t.HasGroup(id) {
			return &deploy.GroupNotFoundError{ID: id}
		}
		t.Remove(id)
		return nil
	}, flag(c, "force", false), false)
	if err != nil {
		s.failGroup(c, err)
		return
	}
	deployed(c, http.StatusOK, d)
}
