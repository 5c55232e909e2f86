package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"strata/services/apps/app"
	"strata/services/apps/deploy"
)

// dispatchApp routes /v2/apps/{id}[/suffix] by method and suffix: nested ids make gin's
// parameters useless here. A suffix route wins over an app whose last segment has the same
// name, unless only the latter exists.
func (s *Server) dispatchApp(c *gin.Context) {
	rest := strings.TrimSuffix(c.Param("rest"), "/")
	segs := app.Segments(rest)
	n := len(segs)
	method := c.Request.Method
	exists := func(id []string) bool {
		if len(id) == 0 {
			return false
		}
		_, ok := s.cfg.Deployer.App("/" + strings.Join(id, "/"))
		return ok
	}
	suffixRoute := func(k int) bool { // the last k segments are a suffix, unless only the full id is an app
		return n > k && (exists(segs[:n-k]) || !exists(segs))
	}
	switch {
	case n == 0:
		if method == http.MethodGet {
			s.listApps(c)
			return
		}
	case method == http.MethodGet && segs[n-1] == "*":
		s.listGroup(c, segs[:n-1])
		return
	case method == http.MethodPost && segs[n-1] == "restart" && n > 1:
		s.restartApp(c, segs[:n-1])
		return
	case segs[n-1] == "tasks" && suffixRoute(1) && (method == http.MethodGet || method == http.MethodDelete):
		if method == http.MethodGet {
			s.appTasks(c, segs[:n-1])
		} else {
			s.killAppTasks(c, segs[:n-1])
		}
		return
	case n > 2 && segs[n-2] == "tasks" && suffixRoute(2) && (method == http.MethodGet || method == http.MethodDelete):
		if method == http.MethodGet {
			s.appTask(c, segs[:n-2], segs[n-1])
		} else {
			s.killAppTask(c, segs[:n-2], segs[n-1])
		}
		return
	case method == http.MethodGet && segs[n-1] == "versions" && suffixRoute(1):
		s.appVersions(c, segs[:n-1])
		return
	case method == http.MethodGet && n > 2 && segs[n-2] == "versions" && suffixRoute(2):
		s.appVersion(c, segs[:n-2], segs[n-1])
		return
	}
	switch method {
	case http.MethodGet:
		s.getApp(c, segs)
	case http.MethodPut:
		s.putApp(c, segs, false)
	case http.MethodPatch:
		s.putApp(c, segs, true)
	case http.MethodDelete:
		s.deleteApp(c, segs)
	default:
		message(c, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	}
}

// appID parses the id of the URL.
func appID(segs []string) (string, error) {
	id, err := app.ParseID("/"+strings.Join(segs, "/"), "/")
	if err != nil {
		return "", &app.ValidationError{Details: []app.Detail{{Path: "/id", Errors: []string{err.Error()}}}}
	}
	return id, nil
}

// lookup returns the app of the URL or answers 404.
func (s *Server) lookup(c *gin.Context, segs []string) (*app.App, bool) {
	id, err := appID(segs)
	if err != nil {
		s.fail(c, &deploy.AppNotFoundError{ID: "/" + strings.Join(segs, "/")})
		return nil, false
	}
	a, ok := s.cfg.Deployer.App(id)
	if !ok {
		s.fail(c, &deploy.AppNotFoundError{ID: id})
		return nil, false
	}
	return a, true
}

// embeds reads ?embed= (repeatable, also comma-separated) into the set of names.
func embeds(c *gin.Context) map[string]bool {
	out := map[string]bool{}
	for _, v := range c.QueryArray("embed") {
		for _, e := range strings.Split(v, ",") {
			out[strings.TrimSpace(e)] = true
		}
	}
	return out
}

func (s *Server) listApps(c *gin.Context) {
	s.writeApps(c, s.cfg.Deployer.Apps())
}

func (s *Server) listGroup(c *gin.Context, group []string) {
	g := "/" + strings.Join(group, "/")
	var out []*app.App
	for _, a := range s.cfg.Deployer.Apps() {
		if app.InGroup(a.ID, g) {
			out = append(out, a)
		}
	}
	s.writeApps(c, out)
}

// writeApps answers {"apps": [...]} with the filters cmd=, id=, label= and the embeds.
func (s *Server) writeApps(c *gin.Context, apps []*app.App) {
	sel, err := parseSelector(c.Query("label"))
	if err != nil {
		s.fail(c, badRequestf("Invalid label selector %q: %v", c.Query("label"), err))
		return
	}
	cmd, idPart := c.Query("cmd"), c.Query("id")
	e := embeds(c)
	// apps.failures is Marathon's older name for the tasks with the lastTaskFailure.
	em := embed{
		tasks:           e["apps.tasks"] || e["apps.failures"],
		lastTaskFailure: e["apps.lastTaskFailure"] || e["apps.failures"],
		readiness:       e["apps.readiness"], taskStats: e["apps.taskStats"],
	}
	out := []appInfo{}
	for _, a := range apps {
		if cmd != "" && (a.Cmd == nil || !strings.Contains(*a.Cmd, cmd)) {
			continue
		}
		if idPart != "" && !strings.Contains(a.ID, idPart) {
			continue
		}
		if !sel.matches(a.Labels) {
			continue
		}
		out = append(out, s.appInfo(a, em))
	}
	writeJSON(c, http.StatusOK, gin.H{"apps": out})
}

func (s *Server) getApp(c *gin.Context, segs []string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	e := embeds(c)
	em := embed{
		tasks: true, lastTaskFailure: true, readiness: e["app.readiness"] || e["apps.readiness"],
		taskStats: e["app.taskStats"] || e["apps.taskStats"],
	}
	writeJSON(c, http.StatusOK, gin.H{"app": s.appInfo(a, em)})
}

// decodeNew reads a whole app definition and resolves its id against base.
func decodeNew(raw []byte, id string) (*app.App, error) {
	a, err := app.Decode(raw)
	if err != nil {
		return nil, err
	}
	if id != "" {
		a.ID = id
	}
	if a.ID == "" {
		return nil, &app.ValidationError{Details: []app.Detail{{Path: "/id", Errors: []string{"error.path.missing"}}}}
	}
	resolved, err := app.ParseID(a.ID, "/")
	if err != nil {
		return nil, &app.ValidationError{Details: []app.Detail{{Path: "/id", Errors: []string{err.Error()}}}}
	}
	a.ID = resolved
	return a, nil
}

// ready normalizes and validates an app.
func ready(a *app.App) error {
	if err := a.Normalize(); err != nil {
		return err
	}
	return a.Validate()
}

func (s *Server) createApp(c *gin.Context) {
	raw, err := body(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := decodeNew(raw, "")
	if err == nil {
		err = ready(a)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.deploy(c, []deploy.Change{{Kind: deploy.PutApp, App: a, Create: true}})
	if err != nil {
		s.fail(c, err)
		return
	}
	stored, _ := s.cfg.Deployer.App(a.ID)
	c.Header("Location", "/v2/apps"+a.ID)
	c.Header("Marathon-Deployment-Id", d.ID)
	info := s.appInfo(stored, embed{})
	info.Deployments = []ref{{ID: d.ID}}
	writeJSON(c, http.StatusCreated, info)
}

// putApp handles PUT (partialUpdate=true by default: merge; false: replace; {"version": v}:
// rollback; an unknown id: create) and PATCH (merge into an existing app).
func (s *Server) putApp(c *gin.Context, segs []string, patch bool) {
	id, err := appID(segs)
	if err != nil {
		s.fail(c, err)
		return
	}
	raw, err := body(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	cur, exists := s.cfg.Deployer.App(id)
	if patch && !exists {
		s.fail(c, &deploy.AppNotFoundError{ID: id})
		return
	}
	var target *app.App
	if v, ok, err := app.UpdateVersion(raw); err != nil {
		s.fail(c, err)
		return
	} else if ok && !patch {
		if !exists {
			s.fail(c, &deploy.AppNotFoundError{ID: id})
			return
		}
		old, err := s.cfg.Deployer.Version(c.Request.Context(), id, v)
		if errors.Is(err, deploy.ErrVersionNotFound) {
			s.fail(c, notFoundf("Version %s of app %s does not exist", v, id))
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		target = old
	} else {
		switch {
		case exists && (patch || flag(c, "partialUpdate", true)):
			target, err = app.Merge(cur, raw)
		default:
			target, err = decodeNew(raw, id)
		}
		if err == nil {
			err = ready(target)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
	}
	d, err := s.deploy(c, []deploy.Change{{Kind: deploy.PutApp, App: target}})
	if err != nil {
		s.fail(c, err)
		return
	}
	code := http.StatusOK
	if !exists {
		code = http.StatusCreated
		c.Header("Location", "/v2/apps"+id)
	}
	deployed(c, code, d)
}

func (s *Server) deleteApp(c *gin.Context, segs []string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	d, err := s.deploy(c, []deploy.Change{{Kind: deploy.DeleteApp, ID: a.ID}})
	if err != nil {
		s.fail(c, err)
		return
	}
	deployed(c, http.StatusOK, d)
}

func (s *Server) restartApp(c *gin.Context, segs []string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	d, err := s.deploy(c, []deploy.Change{{Kind: deploy.RestartApp, ID: a.ID}})
	if err != nil {
		s.fail(c, err)
		return
	}
	deployed(c, http.StatusOK, d)
}

func (s *Server) appVersions(c *gin.Context, segs []string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	vs, err := s.cfg.Deployer.Versions(c.Request.Context(), a.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if vs == nil {
		vs = []string{}
	}
	writeJSON(c, http.StatusOK, gin.H{"versions": vs})
}

func (s *Server) appVersion(c *gin.Context, segs []string, version string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	v, err := s.cfg.Deployer.Version(c.Request.Context(), a.ID, version)
	if errors.Is(err, deploy.ErrVersionNotFound) {
		s.fail(c, notFoundf("Version %s of app %s does not exist", version, a.ID))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c, http.StatusOK, v)
}

// bulkUpdate is PUT /v2/apps (create or update each app of a JSON array, partialUpdate by
// default) and PATCH /v2/apps (merge into existing apps; any unknown id fails the whole
// request), as one deployment.
func (s *Server) bulkUpdate(c *gin.Context, patch bool) {
	raw, err := body(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		s.fail(c, &app.InvalidJSONError{Err: err})
		return
	}
	partial := patch || flag(c, "partialUpdate", true)
	var changes []deploy.Change
	for k, item := range items {
		idText, ok := app.UpdateID(item)
		if !ok {
			s.fail(c, &app.ValidationError{Details: []app.Detail{{Path: fmt.Sprintf("(%d)/id", k), Errors: []string{"error.path.missing"}}}})
			return
		}
		id, err := app.ParseID(idText, "/")
		if err != nil {
			s.fail(c, &app.ValidationError{Details: []app.Detail{{Path: fmt.Sprintf("(%d)/id", k), Errors: []string{err.Error()}}}})
			return
		}
		cur, exists := s.cfg.Deployer.App(id)
		if patch && !exists {
			s.fail(c, &deploy.AppNotFoundError{ID: id})
			return
		}
		var target *app.App
		if exists && partial {
			target, err = app.Merge(cur, item)
		} else {
			target, err = decodeNew(item, id)
		}
		if err == nil {
			err = ready(target)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		changes = append(changes, deploy.Change{Kind: deploy.PutApp, App: target})
	}
	if len(changes) == 0 {
		s.fail(c, &app.ValidationError{Details: []app.Detail{{Path: "/", Errors: []string{"no apps given"}}}})
		return
	}
	d, err := s.deploy(c, changes)
	if err != nil {
		s.fail(c, err)
		return
	}
	deployed(c, http.StatusOK, d)
}
