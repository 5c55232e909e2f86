package apps_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// queueJSON is /v2/queue as clients decode it.
type queueJSON struct {
	Queue []struct {
		App struct {
			ID string `json:"id"`
		} `json:"app"`
		Count int    `json:"count"`
		Role  string `json:"role"`
		Since string `json:"since"`
		Delay struct {
			TimeLeftSeconds int  `json:"timeLeftSeconds"`
			Overdue         bool `json:"overdue"`
		} `json:"delay"`
		ProcessedOffersSummary struct {
			ProcessedOffersCount       int       `json:"processedOffersCount"`
			UnusedOffersCount          int       `json:"unusedOffersCount"`
			LastUnusedOfferAt          string    `json:"lastUnusedOfferAt"`
			RejectSummaryLastOffers    []rejects `json:"rejectSummaryLastOffers"`
			RejectSummaryLaunchAttempt []rejects `json:"rejectSummaryLaunchAttempt"`
			RejectSummaryConstraints   []struct {
				Constraint []string `json:"constraint"`
				Declined   int      `json:"declined"`
			} `json:"rejectSummaryConstraints"`
		} `json:"processedOffersSummary"`
		LastUnusedOffers *[]struct {
			Offer struct {
				Hostname string `json:"hostname"`
				AgentID  string `json:"agentId"`
			} `json:"offer"`
			Reason []string `json:"reason"`
		} `json:"lastUnusedOffers"`
		WaitingReason string `json:"waitingReason"`
	} `json:"queue"`
}

type rejects struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

func declined(steps []rejects, reason string) int {
	for _, s := range steps {
		if s.Reason == reason {
			return s.Declined
		}
	}
	return -1
}

func getQueue(t *testing.T, s *service, query string) queueJSON {
	t.Helper()
	r := do(t, "GET", s.url+"/v2/queue"+query, "")
	var q queueJSON
	if r.code != 200 || json.Unmarshal([]byte(r.body), &q) != nil {
		t.Fatalf("GET /v2/queue%s: %d %s", query, r.code, r.body)
	}
	return q
}

// TestQueueExplainsWaiting: /v2/queue says why an app waits, from the offers of a real master
// and agent: an unsatisfiable constraint is named with the offers it declined, an app bigger
// than the agent is short of cpus; once the constraint is fixed the app runs and leaves the
// queue.
func TestQueueExplainsWaiting(t *testing.T) {
	master := startCluster(t)
	s := startService(t, master, t.TempDir())
	for _, body := range []string{
		`{"id":"/nowhere","cmd":"sleep 1000","cpus":0.05,"mem":16,"constraints":[["hostname","LIKE","nope"]]}`,
		`{"id":"/huge","cmd":"sleep 1000","cpus":100,"mem":16}`,
	} {
		if r := do(t, "POST", s.url+"/v2/apps", body); r.code != 201 {
			t.Fatalf("POST: %d %s", r.code, r.body)
		}
	}
	var q queueJSON
	eventually(t, 30*time.Second, "both apps to have declined offers in /v2/queue", func() bool {
		q = getQueue(t, s, "")
		n := 0
		for _, e := range q.Queue {
			sum := e.ProcessedOffersSummary
			switch e.App.ID {
			case "/nowhere":
				if declined(sum.RejectSummaryLastOffers, "UnfulfilledConstraint") >= 1 {
					n++
				}
			case "/huge":
				if declined(sum.RejectSummaryLastOffers, "InsufficientCpus") >= 1 {
					n++
				}
			}
		}
		return n == 2
	})
	for _, e := range q.Queue {
		sum := e.ProcessedOffersSummary
		if e.Count != 1 || e.Role != "*" || e.Since == "" || !e.Delay.Overdue || e.LastUnusedOffers != nil {
			t.Errorf("%s: queue entry %+v", e.App.ID, e)
		}
		if sum.ProcessedOffersCount < 1 || sum.UnusedOffersCount != sum.ProcessedOffersCount || sum.LastUnusedOfferAt == "" {
			t.Errorf("%s: summary %+v", e.App.ID, sum)
		}
		if len(sum.RejectSummaryLastOffers) != 10 || len(sum.RejectSummaryLaunchAttempt) != 10 ||
			sum.RejectSummaryLastOffers[0].Reason != "UnfulfilledRole" || sum.RejectSummaryLastOffers[0].Processed != 1 {
			t.Errorf("%s: reject summaries %+v", e.App.ID, sum)
		}
		switch e.App.ID {
		case "/nowhere":
			if c := sum.RejectSummaryConstraints; len(c) != 1 || strings.Join(c[0].Constraint, ",") != "hostname,LIKE,nope" || c[0].Declined != 1 {
				t.Errorf("constraints that declined: %+v", c)
			}
			if declined(sum.RejectSummaryLaunchAttempt, "UnfulfilledConstraint") != sum.UnusedOffersCount {
				t.Errorf("launch attempt: %+v", sum.RejectSummaryLaunchAttempt)
			}
			if !strings.Contains(e.WaitingReason, "1 UnfulfilledConstraint (hostname:LIKE:nope: 1)") {
				t.Errorf("waitingReason %q", e.WaitingReason)
			}
		case "/huge":
			if declined(sum.RejectSummaryLastOffers, "UnfulfilledConstraint") != 0 || len(sum.RejectSummaryConstraints) != 0 ||
				!strings.Contains(e.WaitingReason, "1 InsufficientCpus") {
				t.Errorf("an app without constraints: %+v (%q)", sum, e.WaitingReason)
			}
		default:
			t.Errorf("unexpected queue entry %s", e.App.ID)
		}
	}

	// The offers themselves, with every reason they were declined for.
	q = getQueue(t, s, "?embed=lastUnusedOffers")
	for _, e := range q.Queue {
		if e.LastUnusedOffers == nil || len(*e.LastUnusedOffers) != 1 {
			t.Fatalf("%s: lastUnusedOffers %+v", e.App.ID, e.LastUnusedOffers)
		}
		o := (*e.LastUnusedOffers)[0]
		want := map[string]string{"/nowhere": "UnfulfilledConstraint", "/huge": "InsufficientCpus"}[e.App.ID]
		if o.Offer.Hostname != "127.0.0.1" || o.Offer.AgentID == "" || fmt.Sprint(o.Reason) != "["+want+"]" {
			t.Errorf("%s: last unused offer %+v", e.App.ID, o)
		}
	}

	// Fix the constraint (over the stuck deployment): the app runs and leaves the queue.
	if r := do(t, "PUT", s.url+"/v2/apps/nowhere?force=true", `{"constraints":[["hostname","LIKE","127\\.0\\.0\\.1"]]}`); r.code != 200 {
		t.Fatalf("PUT: %d %s", r.code, r.body)
	}
	waitRunning(t, s, "/nowhere", 1)
	eventually(t, 10*time.Second, "only /huge to wait", func() bool {
		q = getQueue(t, s, "")
		return len(q.Queue) == 1 && q.Queue[0].App.ID == "/huge"
	})
}
