package launcher

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	offers, declined, launched, kills prometheus.Counter
	updates                           *prometheus.CounterVec
}

func newMetrics(l *Launcher, reg prometheus.Registerer) *metrics {
	m := &metrics{
		offers:   prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_jobs_offers_received_total", Help: "Offers received."}),
		declined: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_jobs_offers_declined_total", Help: "Offers declined."}),
		launched: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_jobs_tasks_launched_total", Help: "Tasks launched."}),
		kills:    prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_jobs_task_kills_total", Help: "Kill calls sent."}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_jobs_status_updates_total", Help: "Status updates received, by state.",
		}, []string{"state"}),
	}
	if reg != nil {
		queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "strata_jobs_tasks_queued", Help: "Tasks waiting for an offer.",
		}, func() float64 {
			l.mu.Lock()
			defer l.mu.Unlock()
			n := 0
			for _, t := range l.tasks {
				if !t.launched {
					n++
				}
			}
			return float64(n)
		})
		reg.MustRegister(m.offers, m.declined, m.launched, m.kills, m.updates, queued)
	}
	return m
}
