package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"strata/services/apps/app"
	"strata/services/apps/deploy"
	"strata/services/apps/framework"
	"strata/services/apps/instance"
	"strata/services/apps/placement/offerstats"
	"strata/services/apps/readiness"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// maxBody bounds request bodies.
const maxBody = 8 << 20

// Deployer is what the API needs from the deployment manager.
type Deployer interface {
	Apps() []*app.App
	App(id string) (*app.App, bool)
	Versions(ctx context.Context, id string) ([]string, error)
	Version(ctx context.Context, id, version string) (*app.App, error)
	Deploy(ctx context.Context, changes []deploy.Change, force bool) (*deploy.Deployment, error)
	Cancel(ctx context.Context, id string, rollback bool) (*deploy.Deployment, error)
	Deployments() []*deploy.Deployment
	Deployment(id string) (*deploy.Deployment, bool)
	DeploymentsOf(appID string) []string
	// ReadinessResults are the readiness check results of the app's instances that a running
	// deployment waits for.
	ReadinessResults(appID string) []readiness.Result
	GroupDeployer // groups.go
}

// Tasks is what the API needs from the framework.
type Tasks interface {
	Instances(appID string) []*instance.Instance
	Instance(taskID string) (*instance.Instance, bool)
	Kill(taskIDs []string) []*instance.Instance
	LastTaskFailure(appID string) *framework.TaskFailure
	Delay(appID string) (time.Time, bool)
	ResetDelay(appID string) bool
	OfferStats(appID string) *offerstats.Stats
	FrameworkID() string
	Leader() string
}

// Info is what /v2/info reports about the service.
type Info struct {
	// Version is the Marathon API level served; BuildRef the Strata build.
	Version, BuildRef string
	// Leader is this service's advertised host:port; HTTPPort its port.
	Leader   string
	HTTPPort int
	// The rest mirror Marathon's marathon_config.
	Masters                                    []string
	FrameworkName, User, Role, Hostname, WebUI string
	FailoverTimeout, ReconciliationInterval    time.Duration
	TaskLaunchTimeout, DeploymentDeadline      time.Duration
	DeclineOfferDuration                       time.Duration
	MaxVersions                                int
}

// Config configures the API.
type Config struct {
	Deployer Deployer
	Tasks    Tasks
	Info     Info
	// Events receives the api_post_events; EventStream serves GET /v2/events. Either may be nil.
	Events      Publisher
	EventStream gin.HandlerFunc
	// Gatherer serves /metrics; Registerer receives the API's request metrics.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Server is the API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	requests *prometheus.HistogramVec
}

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "apps-api")}
	s.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "strata", Subsystem: "apps", Name: "http_request_duration_seconds",
		Help:    "API request latency by route, method and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"route", "method", "code"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.requests)
	}
	return s
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recovery, s.observe)
	r.NoRoute(func(c *gin.Context) { message(c, http.StatusNotFound, "HTTP 404 Not Found") })
	r.NoMethod(func(c *gin.Context) { message(c, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed") })

	r.GET("/ping", func(c *gin.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("pong")) })
	r.HEAD("/ping", func(c *gin.Context) { c.Status(http.StatusOK) })
	if s.cfg.Gatherer != nil {
		metrics := gin.WrapH(promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
		r.GET("/metrics", metrics)
		r.GET("/metrics/prometheus", metrics) // Marathon 1.7+'s path for the same format
	}
	r.GET("/v2/info", s.info)
	r.GET("/v2/leader", s.leader)

	r.GET("/v2/apps", s.listApps)
	r.POST("/v2/apps", s.createApp)
	r.PUT("/v2/apps", func(c *gin.Context) { s.bulkUpdate(c, false) })
	r.PATCH("/v2/apps", func(c *gin.Context) { s.bulkUpdate(c, true) })
	r.Any("/v2/apps/*rest", s.dispatchApp)

	r.Any("/v2/groups", s.dispatchGroup)
	r.Any("/v2/groups/*rest", s.dispatchGroup)

	r.GET("/v2/deployments", s.listDeployments)
	r.GET("/v2/deployments/:id", s.getDeployment)
	r.DELETE("/v2/deployments/:id", s.deleteDeployment)

	r.GET("/v2/tasks", s.listTasks)
	r.POST("/v2/tasks/delete", s.deleteTasks)

	r.GET("/v2/queue", s.queue)
	r.DELETE("/v2/queue/*rest", s.resetDelay)
	if s.cfg.EventStream != nil {
		r.GET("/v2/events", s.cfg.EventStream)
	}
	return r
}

// recovery turns a handler panic into a logged 500.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "method", c.Request.Method, "path", c.Request.URL.Path,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				message(c, http.StatusInternalServerError, "internal error; see the apps service log")
			}
			c.Abort()
		}
	}()
	c.Next()
}

// observe records request metrics and names the leader.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	if s.cfg.Info.Leader != "" {
		c.Header("X-Marathon-Leader", "http://"+s.cfg.Info.Leader)
	}
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
}

// message answers {"message": msg}.
func message(c *gin.Context, code int, msg string) {
	abortJSON(c, code, gin.H{"message": msg})
}

// abortJSON ends the request with v as the answer.
func abortJSON(c *gin.Context, code int, v any) {
	c.Abort()
	c.PureJSON(code, v)
}

// writeJSON answers v as JSON without escaping HTML characters (commands keep their '&').
func writeJSON(c *gin.Context, code int, v any) {
	c.PureJSON(code, v)
}

// fail answers an error in Marathon's format with the status its kind calls for.
func (s *Server) fail(c *gin.Context, err error) {
	var (
		invalidJSON *app.InvalidJSONError
		invalid     *app.ValidationError
		notFound    *deploy.AppNotFoundError
		exists      *deploy.AppExistsError
		locked      *deploy.LockedError
		noDeploy    *deploy.DeploymentNotFoundError
		tooLarge    *http.MaxBytesError
		clientErr   *clientError
	)
	switch {
	case errors.As(err, &invalidJSON):
		abortJSON(c, http.StatusBadRequest, invalidJSON.Body())
	case errors.As(err, &invalid):
		abortJSON(c, http.StatusUnprocessableEntity, invalid.Body())
	case errors.As(err, &notFound):
		message(c, http.StatusNotFound, notFound.Error())
	case errors.As(err, &noDeploy):
		message(c, http.StatusNotFound, noDeploy.Error())
	case errors.As(err, &exists):
		message(c, http.StatusConflict, exists.Error())
	case errors.As(err, &locked):
		refs := make([]gin.H, 0, len(locked.Deployments))
		for _, id := range locked.Deployments {
			refs = append(refs, gin.H{"id": id})
		}
		abortJSON(c, http.StatusConflict, gin.H{"message": locked.Error(), "deployments": refs})
	case errors.As(err, &tooLarge):
		message(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", tooLarge.Limit))
	case errors.As(err, &clientErr):
		message(c, clientErr.code, clientErr.msg)
	default:
		s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		message(c, http.StatusServiceUnavailable, "the apps service could not complete the request: "+err.Error())
	}
}

// clientError is a 4xx answer with a message.
type clientError struct {
	code int
	msg  string
}

func (e *clientError) Error() string { return e.msg }

func notFoundf(format string, args ...any) error {
	return &clientError{code: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func badRequestf(format string, args ...any) error {
	return &clientError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// body reads the request body, at most maxBody bytes.
func body(c *gin.Context) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
}

// flag reads a boolean query parameter ("true" or "1"; a bare "?force" counts as true).
func flag(c *gin.Context, name string, def bool) bool {
	v, ok := c.GetQuery(name)
	if !ok {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "1", "yes":
		return true
	}
	return false
}

// deployed answers a deployable call: {deploymentId, version} and the Marathon-Deployment-Id
// header.
func deployed(c *gin.Context, code int, d *deploy.Deployment) {
	c.Header("Marathon-Deployment-Id", d.ID)
	writeJSON(c, code, gin.H{"deploymentId": d.ID, "version": d.Version})
}
