package agent

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"strata/kernel/version"
)

// routes builds the HTTP handler. Every route also answers under
// /slave(1)/, the libprocess-style prefix old tools use.
func (a *Agent) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.HandleMethodNotAllowed = true
	add := func(methods []string, path string, h http.Handler) {
		for _, prefix := range []string{"", "/slave(1)"} {
			for _, m := range methods {
				r.Handle(m, prefix+path, gin.WrapH(h))
			}
		}
	}
	get := []string{http.MethodGet, http.MethodHead}
	all := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions}
	hf := func(f func(http.ResponseWriter, *http.Request)) http.Handler { return http.HandlerFunc(f) }

	add(all, "/api/v1/executor", hf(a.executorAPI))
	add(all, "/api/v1", hf(a.operatorAPI))
	for _, p := range []string{"/state", "/state.json"} {
		add(get, p, hf(a.state))
	}
	for _, p := range []string{"/flags", "/flags.json"} {
		add(get, p, hf(a.flagsHandler))
	}
	add(get, "/health", hf(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	add(get, "/version", hf(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, version.Get()) }))
	add(get, "/metrics/snapshot", hf(a.metricsSnapshot))
	add(get, "/metrics", a.prometheusHandler())
	for _, p := range []string{"/monitor/statistics", "/monitor/statistics.json"} {
		add(get, p, hf(a.monitorStatistics))
	}
	add(get, "/containers", hf(a.containersHandler))
	for _, suffix := range []string{"", ".json"} {
		add(get, "/files/browse"+suffix, hf(a.files.Browse))
		add(get, "/files/read"+suffix, hf(a.files.Read))
		add(get, "/files/download"+suffix, hf(a.files.Download))
		add(get, "/files/debug"+suffix, hf(a.files.Debug))
	}
	return r
}
