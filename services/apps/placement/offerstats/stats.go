package offerstats

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/placement"
)

// TimeFormat is how the summaries write times: UTC with milliseconds, as
// Marathon writes its timestamps.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Stats holds one app's offer statistics. The zero value is ready to use.
type Stats struct {
	mu         sync.Mutex
	processed  int
	unused     int
	lastUsed   time.Time
	lastUnused time.Time
	attempt    map[placement.Reason]int
	last       map[string]unusedOffer // by agent id
}

// unusedOffer is the last unused offer of one agent.
type unusedOffer struct {
	offer *mesospb.Offer
	rej   *placement.Rejection
	at    time.Time
}

// Used records an offer that launched an instance of the app; the agent's
// earlier unused offer no longer describes it and is forgotten.
func (s *Stats) Used(agentID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processed++
	if at.After(s.lastUsed) {
		s.lastUsed = at
	}
	delete(s.last, agentID)
}

// Unused records an offer the app could not use and why. The offer and the
// rejection are kept (not copied) until the agent's next offer replaces
// them; neither may be modified afterwards.
func (s *Stats) Unused(offer *mesospb.Offer, rej *placement.Rejection, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processed++
	s.unused++
	if at.After(s.lastUnused) {
		s.lastUnused = at
	}
	if reason := rej.Reason(); reason != "" {
		if s.attempt == nil {
			s.attempt = make(map[placement.Reason]int)
		}
		s.attempt[reason]++
	}
	if s.last == nil {
		s.last = make(map[string]unusedOffer)
	}
	agent := offer.GetAgentId().GetValue()
	if agent == "" {
		agent = rej.AgentID
	}
	s.last[agent] = unusedOffer{offer: offer, rej: rej, at: at}
}

// Forget drops an agent's last unused offer, for an agent that is gone.
func (s *Stats) Forget(agentID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.last, agentID)
}

// Reset starts a new launch attempt: Marathon resets the statistics once
// every instance of the app has launched.
func (s *Stats) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processed, s.unused = 0, 0
	s.lastUsed, s.lastUnused = time.Time{}, time.Time{}
	s.attempt, s.last = nil, nil
}

// DeclinedOfferStep is one entry of a reject summary.
type DeclinedOfferStep struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

// ConstraintReject counts the last unused offers one constraint declined.
type ConstraintReject struct {
	Constraint []string `json:"constraint"`
	Declined   int      `json:"declined"`
}

// ProcessedOffersSummary is /v2/queue's processedOffersSummary.
type ProcessedOffersSummary struct {
	ProcessedOffersCount       int                 `json:"processedOffersCount"`
	UnusedOffersCount          int                 `json:"unusedOffersCount"`
	LastUnusedOfferAt          string              `json:"lastUnusedOfferAt,omitempty"`
	LastUsedOfferAt            string              `json:"lastUsedOfferAt,omitempty"`
	RejectSummaryLastOffers    []DeclinedOfferStep `json:"rejectSummaryLastOffers"`
	RejectSummaryLaunchAttempt []DeclinedOfferStep `json:"rejectSummaryLaunchAttempt"`
	// RejectSummaryConstraints is Strata's addition: which constraints
	// declined the last offers, most declines first.
	RejectSummaryConstraints []ConstraintReject `json:"rejectSummaryConstraints,omitempty"`
}

// Summary renders the statistics.
func (s *Stats) Summary() ProcessedOffersSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	lastCounts := make(map[placement.Reason]int)
	for _, u := range s.last {
		if reason := u.rej.Reason(); reason != "" {
			lastCounts[reason]++
		}
	}
	return ProcessedOffersSummary{
		ProcessedOffersCount:       s.processed,
		UnusedOffersCount:          s.unused,
		LastUnusedOfferAt:          formatTime(s.lastUnused),
		LastUsedOfferAt:            formatTime(s.lastUsed),
		RejectSummaryLastOffers:    funnel(len(s.last), lastCounts),
		RejectSummaryLaunchAttempt: funnel(s.processed, s.attempt),
		RejectSummaryConstraints:   s.constraintRejects(),
	}
}

// funnel turns per-reason decline counts into steps: each reason sees the
// offers the reasons before it let through.
func funnel(processed int, declined map[placement.Reason]int) []DeclinedOfferStep {
	steps := make([]DeclinedOfferStep, len(placement.Funnel))
	for i, reason := range placement.Funnel {
		steps[i] = DeclinedOfferStep{Reason: string(reason), Declined: declined[reason], Processed: processed}
		processed -= declined[reason]
	}
	return steps
}

// constraintRejects counts, over the last unused offers, the declines of
// each constraint (an offer refused by two constraints counts for both).
func (s *Stats) constraintRejects() []ConstraintReject {
	counts := make(map[string]int)
	arrays := make(map[string][]string)
	for _, u := range s.last {
		for _, miss := range u.rej.Constraints {
			key := miss.Constraint.String()
			counts[key]++
			arrays[key] = miss.Constraint.Array()
		}
	}
	out := make([]ConstraintReject, 0, len(counts))
	for _, key := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, ConstraintReject{Constraint: arrays[key], Declined: counts[key]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Declined > out[j].Declined })
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// Explain answers "why is this app waiting?" in one sentence from the last
// unused offer of every agent, or returns "" when there is none.
func (s *Stats) Explain() string {
	sum := s.Summary()
	total := 0
	if len(sum.RejectSummaryLastOffers) > 0 {
		total = sum.RejectSummaryLastOffers[0].Processed
	}
	if total == 0 {
		return ""
	}
	var parts []string
	for _, step := range sum.RejectSummaryLastOffers {
		if step.Declined == 0 {
			continue
		}
		part := fmt.Sprintf("%d %s", step.Declined, step.Reason)
		if step.Reason == string(placement.UnfulfilledConstraint) && len(sum.RejectSummaryConstraints) > 0 {
			var cs []string
			for _, c := range sum.RejectSummaryConstraints {
				cs = append(cs, fmt.Sprintf("%s: %d", strings.Join(c.Constraint, ":"), c.Declined))
			}
			part += " (" + strings.Join(cs, ", ") + ")"
		}
		parts = append(parts, part)
	}
	agents := "agents"
	if total == 1 {
		agents = "agent"
	}
	return fmt.Sprintf("the last offers of %d %s were declined: %s", total, agents, strings.Join(parts, "; "))
}
