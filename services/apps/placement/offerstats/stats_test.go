package offerstats

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/placement"
	"strata/services/apps/placement/constraint"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

func offer(t *testing.T, id, agent, res, attrs string) *mesospb.Offer {
	t.Helper()
	rs, err := resources.Parse(res, "")
	if err != nil {
		t.Fatal(err)
	}
	as, err := resources.ParseAttributes(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return &mesospb.Offer{
		Id:         &mesospb.OfferID{Value: proto.String(id)},
		AgentId:    &mesospb.AgentID{Value: proto.String(agent)},
		Hostname:   proto.String(agent + ".example"),
		Resources:  rs,
		Attributes: as,
	}
}

// feed runs each offer through the matcher and records the outcome.
func feed(t *testing.T, s *Stats, m *placement.Matcher, placed *constraint.Index, offers ...*mesospb.Offer) {
	t.Helper()
	for i, o := range offers {
		at := t0.Add(time.Duration(i) * time.Second)
		fit, rej := m.Match(placement.NewRemaining(o), placed, nil)
		if rej != nil {
			s.Unused(o, rej, at)
			continue
		}
		s.Used(fit.AgentID, at)
	}
}

func steps(t *testing.T, got []DeclinedOfferStep, want map[string][2]int) {
	t.Helper()
	if len(got) != len(placement.Funnel) {
		t.Fatalf("%d steps, want %d", len(got), len(placement.Funnel))
	}
	for i, st := range got {
		if st.Reason != string(placement.Funnel[i]) {
			t.Fatalf("step %d is %s", i, st.Reason)
		}
		if w, ok := want[st.Reason]; ok && (st.Declined != w[0] || st.Processed != w[1]) {
			t.Errorf("%s: declined %d of %d, want %d of %d", st.Reason, st.Declined, st.Processed, w[0], w[1])
		}
	}
}

func TestSummary(t *testing.T) {
	m, err := placement.NewMatcher(placement.Spec{CPUs: 1, Mem: 128, Role: "*", Constraints: [][]string{{"rack", "LIKE", "r[12]"}, {"hostname", "UNIQUE"}}})
	if err != nil {
		t.Fatal(err)
	}
	var s Stats
	placed := m.NewIndex()
	feed(t, &s, m, placed,
		offer(t, "O1", "a1", "cpus:2;mem:512", "rack:r1"),           // used
		offer(t, "O2", "a1", "cpus:2;mem:512", "rack:r1"),           // hostname:UNIQUE
		offer(t, "O3", "b1", "cpus(eng):2;mem(eng):512", "rack:r1"), // role (and cpus, mem)
		offer(t, "O4", "c1", "cpus:2;mem:512", "rack:r3"),           // rack:LIKE
		offer(t, "O5", "d1", "cpus:0.5;mem:512", "rack:r2"),         // cpus
		offer(t, "O6", "e1", "cpus:2;mem:64", "rack:r2"),            // mem
		offer(t, "O7", "f1", "cpus:2;mem:64", "rack:r9"),            // rack:LIKE and mem
	)
	if placed.Len() != 1 {
		t.Fatalf("placed %d", placed.Len())
	}
	sum := s.Summary()
	if sum.ProcessedOffersCount != 7 || sum.UnusedOffersCount != 6 {
		t.Fatalf("counts %d/%d", sum.ProcessedOffersCount, sum.UnusedOffersCount)
	}
	if sum.LastUsedOfferAt != "2024-05-06T07:08:09.123Z" || sum.LastUnusedOfferAt != "2024-05-06T07:08:15.123Z" {
		t.Fatalf("times %q %q", sum.LastUsedOfferAt, sum.LastUnusedOfferAt)
	}
	steps(t, sum.RejectSummaryLastOffers, map[string][2]int{
		"UnfulfilledRole":       {1, 6},
		"UnfulfilledConstraint": {3, 5},
		"InsufficientCpus":      {1, 2},
		"InsufficientMemory":    {1, 1},
		"InsufficientPorts":     {0, 0},
	})
	steps(t, sum.RejectSummaryLaunchAttempt, map[string][2]int{
		"UnfulfilledRole":       {1, 7},
		"UnfulfilledConstraint": {3, 6},
		"InsufficientCpus":      {1, 3},
		"InsufficientMemory":    {1, 2},
		"InsufficientDisk":      {0, 1},
	})
	if len(sum.RejectSummaryConstraints) != 2 ||
		strings.Join(sum.RejectSummaryConstraints[0].Constraint, ":") != "rack:LIKE:r[12]" || sum.RejectSummaryConstraints[0].Declined != 2 ||
		strings.Join(sum.RejectSummaryConstraints[1].Constraint, ":") != "hostname:UNIQUE" || sum.RejectSummaryConstraints[1].Declined != 1 {
		t.Fatalf("constraints %+v", sum.RejectSummaryConstraints)
	}
	want := "the last offers of 6 agents were declined: 1 UnfulfilledRole; 3 UnfulfilledConstraint (rack:LIKE:r[12]: 2, hostname:UNIQUE: 1); 1 InsufficientCpus; 1 InsufficientMemory"
	if got := s.Explain(); got != want {
		t.Fatalf("Explain:\n got %s\nwant %s", got, want)
	}

	// a1 is now used: its earlier unused offer no longer counts.
	s.Used("a1", t0.Add(time.Minute))
	sum = s.Summary()
	if sum.RejectSummaryLastOffers[0].Processed != 5 || sum.ProcessedOffersCount != 8 || sum.LastUsedOfferAt != "2024-05-06T07:09:09.123Z" {
		t.Fatalf("after use: %+v", sum)
	}
	// A newer offer from an agent replaces its older one.
	s.Unused(offer(t, "O8", "c1", "cpus:2;mem:512", "rack:r1"), &placement.Rejection{Reasons: []placement.Reason{placement.InsufficientPorts}}, t0.Add(2*time.Minute))
	s.Forget("b1")
	sum = s.Summary()
	steps(t, sum.RejectSummaryLastOffers, map[string][2]int{
		"UnfulfilledRole":       {0, 4},
		"UnfulfilledConstraint": {1, 4},
		"InsufficientPorts":     {1, 1},
	})

	s.Reset()
	sum = s.Summary()
	if sum.ProcessedOffersCount != 0 || sum.LastUsedOfferAt != "" || sum.RejectSummaryLastOffers[0].Processed != 0 || s.Explain() != "" || len(s.LastUnusedOffers()) != 0 {
		t.Fatalf("after reset: %+v", sum)
	}
}

func TestSummaryJSON(t *testing.T) {
	var s Stats
	o := offer(t, "O1", "a1", "cpus:0.5;mem(eng):64;ports:[31000-31001];zones:{a}", "rack:r1;cores:4;ports:[1-2];tags:{x}")
	s.Unused(o, &placement.Rejection{Reasons: []placement.Reason{placement.InsufficientCpus, placement.InsufficientMemory}}, t0)
	b, err := json.Marshal(s.Summary())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"processedOffersCount":1,"unusedOffersCount":1,"lastUnusedOfferAt":"2024-05-06T07:08:09.123Z",` +
		`"rejectSummaryLastOffers":[{"reason":"UnfulfilledRole","declined":0,"processed":1},{"reason":"UnfulfilledConstraint","declined":0,"processed":1},` +
		`{"reason":"NoCorrespondingReservationFound","declined":0,"processed":1},{"reason":"AgentMaintenance","declined":0,"processed":1},` +
		`{"reason":"InsufficientCpus","declined":1,"processed":1},{"reason":"InsufficientMemory","declined":0,"processed":0},` +
		`{"reason":"InsufficientDisk","declined":0,"processed":0},{"reason":"InsufficientGpus","declined":0,"processed":0},` +
		`{"reason":"InsufficientPorts","declined":0,"processed":0},{"reason":"DeclinedScarceResources","declined":0,"processed":0}],` +
		`"rejectSummaryLaunchAttempt":[{"reason":"UnfulfilledRole","declined":0,"processed":1},{"reason":"UnfulfilledConstraint","declined":0,"processed":1},` +
		`{"reason":"NoCorrespondingReservationFound","declined":0,"processed":1},{"reason":"AgentMaintenance","declined":0,"processed":1},` +
		`{"reason":"InsufficientCpus","declined":1,"processed":1},{"reason":"InsufficientMemory","declined":0,"processed":0},` +
		`{"reason":"InsufficientDisk","declined":0,"processed":0},{"reason":"InsufficientGpus","declined":0,"processed":0},` +
		`{"reason":"InsufficientPorts","declined":0,"processed":0},{"reason":"DeclinedScarceResources","declined":0,"processed":0}]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}

	b, err = json.Marshal(s.LastUnusedOffers())
	if err != nil {
		t.Fatal(err)
	}
	const wantOffers = `[{"offer":{"id":"O1","hostname":"a1.example","agentId":"a1","resources":[` +
		`{"name":"cpus","role":"*","scalar":0.5},{"name":"mem","role":"eng","scalar":64},` +
		`{"name":"ports","role":"*","ranges":[{"begin":31000,"end":31001}]},{"name":"zones","role":"*","set":["a"]}],` +
		`"attributes":[{"name":"rack","text":"r1"},{"name":"cores","scalar":4},{"name":"ports","ranges":[{"begin":1,"end":2}]},{"name":"tags","set":["x"]}]},` +
		`"reason":["InsufficientCpus","InsufficientMemory"],"timestamp":"2024-05-06T07:08:09.123Z"}]`
	if string(b) != wantOffers {
		t.Fatalf("got  %s\nwant %s", b, wantOffers)
	}
}

func TestLastUnusedOffersOrder(t *testing.T) {
	var s Stats
	rej := &placement.Rejection{Reasons: []placement.Reason{placement.InsufficientCpus}}
	s.Unused(offer(t, "O1", "b", "cpus:1", ""), rej, t0)
	s.Unused(offer(t, "O2", "a", "cpus:1", ""), rej, t0)
	s.Unused(offer(t, "O3", "c", "cpus:1", ""), rej, t0.Add(time.Second))
	var ids []string
	for _, u := range s.LastUnusedOffers() {
		ids = append(ids, u.Offer.ID)
	}
	if strings.Join(ids, ",") != "O3,O2,O1" {
		t.Fatalf("order %v", ids)
	}
	if got := s.Explain(); got != "the last offers of 3 agents were declined: 3 InsufficientCpus" {
		t.Fatalf("Explain %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	var s Stats
	var wg sync.WaitGroup
	rej := &placement.Rejection{Reasons: []placement.Reason{placement.InsufficientMemory}}
	for g := range 4 {
		agent := string(rune('a' + g))
		o := offer(t, "O", agent, "cpus:1", "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if i%5 == 0 {
					s.Used(agent, t0)
				} else {
					s.Unused(o, rej, t0)
				}
				_ = s.Summary()
				_ = s.LastUnusedOffers()
			}
		}()
	}
	wg.Wait()
	if sum := s.Summary(); sum.ProcessedOffersCount != 200 || sum.UnusedOffersCount != 160 {
		t.Fatalf("counts %+v", sum)
	}
}
