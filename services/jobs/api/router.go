package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"strata/kernel/version"
	"strata/services/jobs/job"
	"strata/services/jobs/runs"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// Engine is what the API needs from the jobs service's core (package engine; the service passes
// *engine.Engine). Errors wrap the sentinels of package engine (ErrNotFound, ErrExists,
// ErrActiveRuns, ErrDependents, ErrNotReady) or are a *job.CycleError.
type Engine interface {
	Jobs() []*job.Job
	Job(id string) (*job.Job, bool)
	PutJob(ctx context.Context, j *job.Job, create bool) error
	DeleteJob(ctx context.Context, id string, stopRuns bool) error
	StartRun(ctx context.Context, jobID, trigger string, args []string) (*runs.Run, error)
	StopRun(ctx context.Context, jobID, runID string) error
	StopAll(ctx context.Context, jobID string) error
	ActiveRuns(jobID string) []*runs.Run
	Run(ctx context.Context, jobID, runID string) (*runs.Run, error)
	History(ctx context.Context, jobID string) ([]*runs.Run, error)
	MarkSuccess(ctx context.Context, jobID string) error
	NextRun(jobID, scheduleID string) (time.Time, bool)
	Ready() bool
}

// Config configures the API.
type Config struct {
	// Engine holds the jobs; required.
	Engine Engine
	// Logger receives handler panics and failures of the engine (default slog.Default()).
	Logger *slog.Logger
	// Leader is the host:port of the leading jobs service, answered by GET /leader; empty means
	// no leader is known (404).
	Leader string
	// Now is the clock (default time.Now). It fixes the start of a Chronos schedule posted with
	// an empty start ("R//PT1H" means "from now").
	Now func() time.Time
}

// server holds the handlers.
type server struct {
	eng Engine
	log *slog.Logger
	cfg Config
	// mu serializes the read-modify-write sequences of the handlers (add a schedule, update a
	// job, post a Chronos job over an existing one): the engine replaces whole jobs, so two
	// concurrent changes of one job would otherwise lose one of them.
	mu sync.Mutex
}

func newServer(cfg Config) *server {
	if cfg.Engine == nil {
		panic("jobs api: Config.Engine is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &server{eng: cfg.Engine, cfg: cfg, log: cfg.Logger.With("component", "jobs-api")}
}

// New returns a gin engine serving the whole API at its root, with panic recovery (a logged 500)
// and Metronome-style JSON answers for unknown routes (404) and methods (405).
func New(cfg Config) *gin.Engine {
	s := newServer(cfg)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recovery)
	r.NoRoute(func(c *gin.Context) { message(c, http.StatusNotFound, "HTTP 404 Not Found") })
	r.NoMethod(func(c *gin.Context) { message(c, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed") })
	s.routes(r)
	return r
}

// Register mounts the API's routes on r (for instance a group under /service/metronome). The
// caller's router provides recovery and the answers for unknown routes.
func Register(r gin.IRouter, cfg Config) {
	newServer(cfg).routes(r)
}

func (s *server) routes(r gin.IRouter) {
	r.GET("/ping", s.ping)
	r.HEAD("/ping", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.GET("/info", s.info)
	r.GET("/leader", s.leader)

	// Metronome.
	r.GET("/v1/jobs", s.listJobs)
	r.POST("/v1/jobs", s.createJob)
	r.GET("/v1/jobs/:id", s.getJob)
	r.PUT("/v1/jobs/:id", s.updateJob)
	r.DELETE("/v1/jobs/:id", s.deleteJob)

	r.GET("/v1/jobs/:id/schedules", s.listSchedules)
	r.POST("/v1/jobs/:id/schedules", s.createSchedule)
	r.GET("/v1/jobs/:id/schedules/:sid", s.getSchedule)
	r.PUT("/v1/jobs/:id/schedules/:sid", s.updateSchedule)
	r.DELETE("/v1/jobs/:id/schedules/:sid", s.deleteSchedule)

	r.GET("/v1/jobs/:id/runs", s.listRuns)
	r.POST("/v1/jobs/:id/runs", s.startRun)
	r.GET("/v1/jobs/:id/runs/:runId", s.getRun)
	r.POST("/v1/jobs/:id/runs/:runId/actions/stop", s.stopRun)
	r.POST("/v1/jobs/:id/runs/:runId/action/stop", s.stopRun) // the spelling of Metronome's RAML

	r.POST("/v0/scheduled-jobs", s.createScheduledJob)
	r.PUT("/v0/scheduled-jobs/:id", s.updateScheduledJob)

	// Chronos, with and without the /v1 prefix.
	for _, prefix := range []string{"/v1/scheduler", "/scheduler"} {
		g := r.Group(prefix)
		g.GET("/jobs", s.chronosList)
		g.GET("/jobs/search", s.chronosSearch)
		g.GET("/jobs/summary", s.chronosSummary)
		g.POST("/iso8601", func(c *gin.Context) { s.chronosPost(c, job.ChronosScheduled) })
		g.POST("/dependency", func(c *gin.Context) { s.chronosPost(c, job.ChronosDependent) })
		g.GET("/job/:name", s.chronosGet)
		g.PUT("/job/:name", s.chronosTrigger)
		g.DELETE("/job/:name", s.chronosDelete)
		g.PUT("/job/success/:name", s.chronosMarkSuccess)
		g.DELETE("/task/kill/:name", s.chronosKill)
		g.GET("/graph/dot", s.chronosDot)
		g.GET("/graph/csv", s.chronosCSV)
	}
}

// recovery turns a handler panic into a logged 500.
func (s *server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "method", c.Request.Method, "path", c.Request.URL.Path,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				message(c, http.StatusInternalServerError, "internal error; see the jobs service log")
			}
			c.Abort()
		}
	}()
	c.Next()
}

func (s *server) ping(c *gin.Context) {
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("pong"))
}

// info answers Metronome's {version, libVersion}; libVersion is the Mesos API level the kernel
// speaks (Metronome gave its Marathon library's). reconciled is a Strata field: whether the
// engine has reconciled its runs with the master and fires schedules.
func (s *server) info(c *gin.Context) {
	writeJSON(c, http.StatusOK, gin.H{
		"version":    version.Version,
		"libVersion": version.MesosVersion,
		"reconciled": s.eng.Ready(),
	})
}

// leader answers {"leader": "host:port"}, for Metronome and Chronos alike.
func (s *server) leader(c *gin.Context) {
	if s.cfg.Leader == "" {
		message(c, http.StatusNotFound, "There is no leader")
		return
	}
	writeJSON(c, http.StatusOK, gin.H{"leader": s.cfg.Leader})
}

func (s *server) now() time.Time { return s.cfg.Now().UTC() }
