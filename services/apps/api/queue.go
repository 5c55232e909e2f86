package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"strata/services/apps/app"
	"strata/services/apps/instance"
	"strata/services/apps/placement/offerstats"
)

// queueEntry is one app of /v2/queue, in Marathon's shape. WaitingReason is Strata's: the
// statistics of the last offers put in one sentence ("why is my app waiting?"), next to
// processedOffersSummary.rejectSummaryConstraints, which names the constraints that declined
// them.
type queueEntry struct {
	App                    appInfo                           `json:"app"`
	Count                  int                               `json:"count"`
	Role                   string                            `json:"role"`
	Delay                  queueDelay                        `json:"delay"`
	Since                  string                            `json:"since"`
	ProcessedOffersSummary offerstats.ProcessedOffersSummary `json:"processedOffersSummary"`
	LastUnusedOffers       *[]offerstats.UnusedOffer         `json:"lastUnusedOffers,omitempty"`
	WaitingReason          string                            `json:"waitingReason,omitempty"`
}

type queueDelay struct {
	TimeLeftSeconds int64 `json:"timeLeftSeconds"`
	Overdue         bool  `json:"overdue"`
}

// queue answers /v2/queue: every app with instances waiting for an offer, how many, its launch
// delay, and what the offers processed for it since its launch attempt began said
// (processedOffersSummary; with ?embed=lastUnusedOffers also the last unused offer of every
// agent and why it was not used).
func (s *Server) queue(c *gin.Context) {
	withOffers := embeds(c)["lastUnusedOffers"]
	out := []queueEntry{}
	now := time.Now()
	for _, a := range s.cfg.Deployer.Apps() {
		var waiting []*instance.Instance
		for _, i := range s.cfg.Tasks.Instances(a.ID) {
			if !i.Launched() {
				waiting = append(waiting, i)
			}
		}
		if len(waiting) == 0 {
			continue
		}
		e := queueEntry{App: s.appInfo(a, embed{}), Count: len(waiting), Since: app.FormatVersion(waiting[0].ScheduledAt), Role: a.Role}
		if until, ok := s.cfg.Tasks.Delay(a.ID); ok {
			e.Delay.TimeLeftSeconds = int64(until.Sub(now).Seconds() + 0.999)
		} else {
			e.Delay.Overdue = true
		}
		stats := s.cfg.Tasks.OfferStats(a.ID)
		if stats == nil {
			stats = &offerstats.Stats{}
		}
		e.ProcessedOffersSummary = stats.Summary()
		e.WaitingReason = stats.Explain()
		if withOffers {
			offers := stats.LastUnusedOffers()
			e.LastUnusedOffers = &offers
		}
		out = append(out, e)
	}
	writeJSON(c, http.StatusOK, gin.H{"queue": out})
}

// resetDelay is DELETE /v2/queue/{app id}/delay.
func (s *Server) resetDelay(c *gin.Context) {
	segs := app.Segments(c.Param("rest"))
	if len(segs) < 2 || segs[len(segs)-1] != "delay" {
		message(c, http.StatusNotFound, "HTTP 404 Not Found")
		return
	}
	a, ok := s.lookup(c, segs[:len(segs)-1])
	if !ok {
		return
	}
	s.cfg.Tasks.ResetDelay(a.ID)
	c.Status(http.StatusNoContent)
}
