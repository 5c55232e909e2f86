package engine

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	ticks    *prometheus.CounterVec
	finished *prometheus.CounterVec
	lateness prometheus.Histogram
}

func newMetrics(e *Engine, reg prometheus.Registerer) *metrics {
	m := &metrics{
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_jobs_ticks_total", Help: "Schedule ticks handled, by outcome (fired, skipped).",
		}, []string{"outcome"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_jobs_runs_finished_total", Help: "Runs finished, by status.",
		}, []string{"status"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "strata_jobs_tick_lateness_seconds",
			Help:    "How long after its tick a scheduled run was created.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 60},
		}),
	}
	if reg != nil {
		active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "strata_jobs_active_runs", Help: "Runs not finished.",
		}, func() float64 {
			e.mu.Lock()
			defer e.mu.Unlock()
			n := 0
			for _, m := range e.active {
				n += len(m)
			}
			return float64(n)
		})
		jobs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "strata_jobs_jobs", Help: "Jobs defined."}, func() float64 {
			e.mu.Lock()
			defer e.mu.Unlock()
			return float64(len(e.jobs))
		})
		reg.MustRegister(m.ticks, m.finished, m.lateness, active, jobs)
	}
	return m
}
