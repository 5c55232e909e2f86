package allocator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Errors returned by the Allocator; match them with errors.Is.
var (
	ErrUnknownAgent     = errors.New("unknown agent")
	ErrUnknownFramework = errors.New("unknown framework")
	ErrDuplicate        = errors.New("already exists")
	ErrInvalid          = errors.New("invalid argument")
	ErrNotAllocated     = errors.New("resources not allocated")
	ErrNotAvailable     = errors.New("resources not available")
)

// DefaultRefuseSeconds is the Mesos default of Filters.refuse_seconds.
const DefaultRefuseSeconds = 5.0

// MaxRefuse caps refusal filters, as Mesos does (365 days).
const MaxRefuse = 365 * 24 * time.Hour

// Config tunes an Allocator. The zero value gives Mesos defaults.
type Config struct {
	// Seed makes agent shuffling reproducible.
	Seed uint64
	// Clock stamps refusal filters installed by RecoverResources
	// (default time.Now). Passes use the `now` they are given; callers
	// should pass the same clock's time.
	Clock func() time.Time
	// AllocationInterval is the master's periodic pass interval (default
	// 1s). A refusal filter never expires sooner than one interval.
	AllocationInterval time.Duration
	// MinAllocatable is the global --min_allocatable_resources: an offer is
	// made only if it holds at least one of these quantity sets. nil means
	// the Mesos default "cpus:0.01|mem:32"; an empty non-nil slice
	// disables the check.
	MinAllocatable []Quantities
	// FairnessExcluded lists scalar names left out of DRF shares
	// (--fair_sharing_excluded_resource_names), e.g. "gpus".
	FairnessExcluded []string
	// ReuseOffers makes every pass return its offers in the same backing
	// array. A pass then allocates nothing in steady state (without it,
	// the slice it returns is its only allocation, one Offer per offered
	// agent). The returned slice is valid only until the next pass; the
	// Offer values (and their Resources) stay valid when copied out, so a
	// caller that is done with a pass' offers before the next pass loses
	// nothing by setting it.
	ReuseOffers bool
	// OfferGPUAgentsToAll disables the Mesos --filter_gpu_resources
	// behaviour, under which agents with GPUs are offered only to
	// frameworks with the GPU_RESOURCES capability.
	OfferGPUAgentsToAll bool
}

// DefaultMinAllocatable returns the Mesos default min_allocatable_resources,
// "cpus:0.01|mem:32".
func DefaultMinAllocatable() []Quantities {
	var c, m Quantities
	c.set(Cpus, 10)
	m.set(Mem, 32000)
	return []Quantities{c, m}
}

// Capabilities are the framework capabilities the allocator honours.
type Capabilities struct {
	MultiRole    bool // may subscribe to several roles
	GPUResources bool // may be offered agents that have GPUs
	// RevocableResources is recorded but has no effect: revocable
	// resources are not modelled yet.
	RevocableResources bool
}

// AgentInfo is what offer constraints may look at.
type AgentInfo struct {
	ID, Hostname string
	Attributes   map[string]string
}

// FrameworkInfo is the allocator's view of a framework's subscription.
type FrameworkInfo struct {
	Roles           []string
	Capabilities    Capabilities
	SuppressedRoles []string
	// MinAllocatable overrides Config.MinAllocatable per role (the
	// offer_filters field). A present key with an empty slice means any
	// non-empty offer is allocatable for that role.
	MinAllocatable map[string][]Quantities
	// OfferConstraints optionally restricts, per role, the agents this
	// framework is offered (the master compiles offer_constraints into
	// these predicates).
	OfferConstraints map[string]func(AgentInfo) bool
}

// Filter is the refusal part of mesos.v1.Filters.
type Filter struct {
	// RefuseSeconds: 0 installs no filter; negative means the default
	// (5 s); values beyond 365 days are capped. A filter always lasts at
	// least Config.AllocationInterval.
	RefuseSeconds float64
}

// DefaultFilter is the filter Mesos applies to a decline or an accept
// whose Filters message is absent.
func DefaultFilter() *Filter { return &Filter{RefuseSeconds: DefaultRefuseSeconds} }

// Offer is one allocation decision: everything Resources on AgentID given
// to FrameworkID under Role. Resources is the caller's to keep and to
// change: it shares memory with the allocator's record of the allocation,
// but as a value (see Resources) changing it never affects that record or
// any other offer.
type Offer struct {
	AgentID     string
	Hostname    string
	FrameworkID string
	Role        string
	Resources   Resources
}

// Stats are cumulative counters, readable at any time.
type Stats struct {
	Passes         uint64        // passes run (full and targeted)
	FullPasses     uint64        // passes over every agent
	Offers         uint64        // offers generated
	AgentsVisited  uint64        // active agents examined
	FilteredOffers uint64        // candidate offers skipped by refusal filters
	LastPass       time.Duration // wall time of the latest pass
	MaxPass        time.Duration
	TotalPass      time.Duration
	// Gauges.
	Agents, ActiveAgents, Frameworks, Roles, Filters int
}

type agent struct {
	// Hot fields first: a pass touches these for every agent it visits.
	free     Resources    // total minus everything allocated
	allocs   []allocation // by value: no allocation per offer in steady state
	allocFw  []*framework // allocs[i].fw, compact for lookups
	filters  []refusal    // refusal filters on this agent, of any framework
	active   bool
	hasGPU   bool
	dirty    bool
	removed  bool
	idx      int // position in Allocator.agents
	id       string
	hostname string
	// Cold fields.
	attrs map[string]string
	total Resources
}

// allocation is what one framework holds on one agent under one role.
type allocation struct {
	fw   *framework
	role string
	res  Resources
}

type framework struct {
	id          string
	seq         uint64 // registration order, the DRF tie-break
	caps        Capabilities
	active      bool
	roles       map[string]*fwRole // tracked: subscribed or holding resources
	minAlloc    map[string][]Quantities
	constraints map[string]func(AgentInfo) bool
	filterCount int // refusal filters held, on all agents
}

// fwRole is a framework's membership in one role's sorter.
type fwRole struct {
	fw         *framework
	role       *role
	idx        int32 // in role.fws
	subscribed bool
	suppressed bool
	alloc      Quantities
	share      float64
}

// Allocator is the HierarchicalDRF allocator. Create it with New.
type Allocator struct {
	cfg      Config
	minAlloc []Quantities
	excluded map[string]bool
	rng      *rand.Rand

	agents     []*agent
	agentByID  map[string]*agent
	frameworks map[string]*framework
	roles      map[string]*role
	weights    map[string]float64
	tree       roleTree
	total      Quantities // cluster total (all agents)
	shares     shareCalc
	stale      bool // shares need a full recompute

	quotas map[string]*quotaRole

	globalDirty bool
	dirtyAgents []*agent
	fwSeq       uint64

	filterCount int
	filterSeq   uint64
	expiries    expiryQueue

	stats Stats

	// scratch, reused across passes
	order        []int32  // positions in agents
	targets      []*agent // agents of a targeted pass
	pending      []pendingCharge
	viewReserved []reservation
	offerBuf     []Offer // with Config.ReuseOffers
}

// New returns an empty allocator.
func New(cfg Config) *Allocator {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.AllocationInterval <= 0 {
		cfg.AllocationInterval = time.Second
	}
	a := &Allocator{
		cfg:        cfg,
		minAlloc:   cfg.MinAllocatable,
		excluded:   map[string]bool{},
		rng:        rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		agentByID:  map[string]*agent{},
		frameworks: map[string]*framework{},
		roles:      map[string]*role{},
		weights:    map[string]float64{},
		quotas:     map[string]*quotaRole{},
	}
	if a.minAlloc == nil {
		a.minAlloc = DefaultMinAllocatable()
	} else {
		a.minAlloc = make([]Quantities, len(cfg.MinAllocatable))
		for i, q := range cfg.MinAllocatable {
			a.minAlloc[i] = q.Clone()
		}
	}
	for _, n := range cfg.FairnessExcluded {
		a.excluded[n] = true
	}
	return a
}

// Stats returns the counters and gauges.
func (a *Allocator) Stats() Stats {
	s := a.stats
	s.Agents = len(a.agents)
	for _, ag := range a.agents {
		if ag.active {
			s.ActiveAgents++
		}
	}
	s.Frameworks = len(a.frameworks)
	s.Roles = len(a.roles)
	s.Filters = a.filterCount
	return s
}

// UpdateWeights sets role weights (role → weight > 0). Roles not
// mentioned keep their weight; the default weight is 1.
func (a *Allocator) UpdateWeights(weights map[string]float64) error {
	for r, w := range weights {
		if err := validRole(r); err != nil || r == Unreserved {
			return fmt.Errorf("allocator: update weights: role %q: %w", r, ErrInvalid)
		}
		if !(w > 0) || math.IsInf(w, 1) {
			return fmt.Errorf("allocator: update weights: role %q weight %v: %w", r, w, ErrInvalid)
		}
	}
	for r, w := range weights {
		a.weights[r] = w
	}
	a.stale = true
	a.globalDirty = true
	return nil
}

// Weight returns the weight of role.
func (a *Allocator) Weight(role string) float64 {
	if w, ok := a.weights[role]; ok {
		return w
	}
	return 1
}

func (a *Allocator) markDirty(ag *agent) {
	if ag.dirty || ag.removed || !ag.active || ag.free.IsEmpty() {
		return
	}
	ag.dirty = true
	a.dirtyAgents = append(a.dirtyAgents, ag)
}

// HasWork reports whether a pass at now could produce offers that the
// previous passes could not: something changed since, or a refusal
// filter expired, and some active framework wants offers for some role.
func (a *Allocator) HasWork(now time.Time) bool {
	if !a.globalDirty && len(a.dirtyAgents) == 0 {
		if at, ok := a.NextExpiry(); !ok || now.Before(at) {
			return false
		}
	}
	for _, f := range a.frameworks {
		if !f.active {
			continue
		}
		for _, fr := range f.roles {
			if fr.subscribed && !fr.suppressed {
				return true
			}
		}
	}
	return false
}
