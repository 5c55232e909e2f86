package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"strata/services/apps/app"
	"strata/services/apps/deploy"
	"strata/services/apps/instance"
)

// wantsText reports whether the client asked for the text/plain task list (haproxy scripts).
func wantsText(c *gin.Context) bool {
	accept := c.GetHeader("Accept")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json")
}

// launched returns the app's instances that have a task.
func (s *Server) launched(appID string) []*instance.Instance {
	var out []*instance.Instance
	for _, i := range s.cfg.Tasks.Instances(appID) {
		if i.Launched() {
			out = append(out, i)
		}
	}
	return out
}

func (s *Server) appTasks(c *gin.Context, segs []string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	insts := s.launched(a.ID)
	if wantsText(c) {
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(endpoints([]*app.App{a}, map[string][]*instance.Instance{a.ID: insts})))
		return
	}
	tasks := []task{}
	for _, i := range insts {
		tasks = append(tasks, renderTask(i, a))
	}
	writeJSON(c, http.StatusOK, gin.H{"tasks": tasks})
}

// endpoints is the text/plain task list: per app and service port, a line
// "<app id with _> <service port> <host:port> ..." with tab separators.
func endpoints(apps []*app.App, insts map[string][]*instance.Instance) string {
	var b strings.Builder
	for _, a := range apps {
		for k, sp := range a.ServicePorts() {
			fmt.Fprintf(&b, "%s\t%d\t", app.SafePath(a.ID), sp)
			for _, i := range insts[a.ID] {
				if i.IsRunning() && k < len(i.Ports) {
					fmt.Fprintf(&b, "%s:%d\t", i.Host, i.Ports[k])
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// findTask resolves a task by its id alone (clients derive the app from it in different ways).
func (s *Server) findTask(c *gin.Context, segs []string, taskID string) (*instance.Instance, bool) {
	if _, err := appID(segs); err != nil {
		s.fail(c, err)
		return nil, false
	}
	i, ok := s.cfg.Tasks.Instance(taskID)
	if !ok || !i.Launched() {
		s.fail(c, notFoundf("Task '%s' does not exist", taskID))
		return nil, false
	}
	return i, true
}

func (s *Server) appTask(c *gin.Context, segs []string, taskID string) {
	i, ok := s.findTask(c, segs, taskID)
	if !ok {
		return
	}
	a, _ := s.cfg.Deployer.App(i.AppID)
	writeJSON(c, http.StatusOK, gin.H{"task": renderTask(i, a)})
}

// killAppTasks kills the app's tasks (only those on ?host= if given); with ?scale=true the app's
// instances shrink by as many and the answer is a deployment.
func (s *Server) killAppTasks(c *gin.Context, segs []string) {
	a, ok := s.lookup(c, segs)
	if !ok {
		return
	}
	host := c.Query("host")
	var ids []string
	for _, i := range s.launched(a.ID) {
		if !i.KillRequested && (host == "" || i.Host == host) {
			ids = append(ids, i.TaskID)
		}
	}
	s.kill(c, map[string][]string{a.ID: ids}, false)
}

func (s *Server) killAppTask(c *gin.Context, segs []string, taskID string) {
	i, ok := s.findTask(c, segs, taskID)
	if !ok {
		return
	}
	s.kill(c, map[string][]string{i.AppID: {i.TaskID}}, true)
}

// kill kills tasks by app: with ?scale=true as one deployment that lowers each app's instances
// by its number of tasks, otherwise directly (the framework replaces them).
func (s *Server) kill(c *gin.Context, byApp map[string][]string, single bool) {
	if flag(c, "scale", false) {
		var changes []deploy.Change
		ids := make([]string, 0, len(byApp))
		for id := range byApp {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			a, ok := s.cfg.Deployer.App(id)
			if !ok {
				continue
			}
			target := a.Clone()
			target.Instances = max(0, a.Instances-len(byApp[id]))
			changes = append(changes, deploy.Change{Kind: deploy.PutApp, App: target, Kill: byApp[id]})
		}
		if len(changes) == 0 {
			s.fail(c, notFoundf("no app to scale"))
			return
		}
		d, err := s.deploy(c, changes)
		if err != nil {
			s.fail(c, err)
			return
		}
		deployed(c, http.StatusOK, d)
		return
	}
	var all []string
	for _, ids := range byApp {
		all = append(all, ids...)
	}
	killed := s.cfg.Tasks.Kill(all)
	tasks := []task{}
	for _, i := range killed {
		a, _ := s.cfg.Deployer.App(i.AppID)
		tasks = append(tasks, renderTask(i, a))
	}
	if single && len(tasks) == 1 {
		writeJSON(c, http.StatusOK, gin.H{"task": tasks[0]})
		return
	}
	writeJSON(c, http.StatusOK, gin.H{"tasks": tasks})
}

// listTasks answers every task, filtered by ?status= (running, staging; also status[]=).
func (s *Server) listTasks(c *gin.Context) {
	statuses := map[string]bool{}
	for _, k := range []string{"status", "status[]"} {
		for _, v := range c.QueryArray(k) {
			for _, st := range strings.Split(v, ",") {
				if st = strings.ToLower(strings.TrimSpace(st)); st != "" {
					statuses[st] = true
				}
			}
		}
	}
	match := func(i *instance.Instance) bool {
		if len(statuses) == 0 {
			return true
		}
		return (statuses["running"] && i.IsRunning()) || (statuses["staging"] && i.IsStaged())
	}
	apps := s.cfg.Deployer.Apps()
	byID := map[string]*app.App{}
	for _, a := range apps {
		byID[a.ID] = a
	}
	insts := map[string][]*instance.Instance{}
	tasks := []task{}
	for _, i := range s.cfg.Tasks.Instances("") {
		if !i.Launched() || !match(i) {
			continue
		}
		insts[i.AppID] = append(insts[i.AppID], i)
		tasks = append(tasks, renderTask(i, byID[i.AppID]))
	}
	if wantsText(c) {
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(endpoints(apps, insts)))
		return
	}
	writeJSON(c, http.StatusOK, gin.H{"tasks": tasks})
}

// deleteTasks is POST /v2/tasks/delete {"ids": [...]}: every id must name a known task.
func (s *Server) deleteTasks(c *gin.Context) {
	raw, err := body(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		s.fail(c, &app.InvalidJSONError{Err: err})
		return
	}
	byApp := map[string][]string{}
	var unknown []string
	for _, id := range req.IDs {
		i, ok := s.cfg.Tasks.Instance(id)
		if !ok || !i.Launched() {
			unknown = append(unknown, id)
			continue
		}
		byApp[i.AppID] = append(byApp[i.AppID], id)
	}
	if len(unknown) > 0 {
		s.fail(c, badRequestf("Unknown tasks: %s", strings.Join(unknown, ", ")))
		return
	}
	s.kill(c, byApp, false)
}
