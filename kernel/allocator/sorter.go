package allocator

import (
	"cmp"
	"slices"
	"strings"
)

// The role sorter is a tree mirroring hierarchical role names ("eng/web"
// is a child of "eng"). Every node carries the scalar allocation of its
// subtree; siblings are kept sorted by DRF share (dominant share divided by
// weight) and then by name. The allocation order of roles is the pre-order
// walk of the leaves. A role that has both frameworks and sub-roles gets a
// virtual leaf named "." under its internal node, as in Mesos; the virtual
// leaf has the default weight.
//
// Within a role, frameworks are kept sorted by their own dominant share of
// the cluster (weight 1) and then by registration order (an integer, so
// the hot path never compares id strings). That order is a slice of
// fwSlot values: the sort key inline, and an index instead of a pointer,
// so re-sorting reads no other memory and moving entries needs no GC
// write barriers.

// role is a client of the role sorter: a role with at least one tracked
// framework (subscribed, or still holding resources in it).
type role struct {
	name  string
	node  *roleNode  // the leaf representing this role
	fws   []*fwRole  // members, in no particular order (fwRole.idx)
	order []fwSlot   // DRF order of fws
	top   *quotaRole // quota of the top-level ancestor, nil when none
}

// fwSlot is one member's place in its role's DRF order.
type fwSlot struct {
	share float64 // == fws[idx].share
	seq   uint64  // == fws[idx].fw.seq
	idx   int32   // in role.fws
}

func slotOf(fr *fwRole) fwSlot { return fwSlot{fr.share, fr.fw.seq, fr.idx} }

// addMember appends fr to r, unsorted: the caller marks the order stale.
func (r *role) addMember(fr *fwRole) {
	fr.idx = int32(len(r.fws))
	r.fws = append(r.fws, fr)
	r.order = append(r.order, slotOf(fr))
}

// removeMember deletes fr from r, keeping the order sorted if it was.
func (r *role) removeMember(fr *fwRole) {
	i := r.slotIndex(fr)
	r.order = slices.Delete(r.order, i, i+1)
	last := int32(len(r.fws) - 1)
	if fr.idx != last {
		moved := r.fws[last]
		r.order[r.slotIndex(moved)].idx = fr.idx
		moved.idx = fr.idx
		r.fws[fr.idx] = moved
	}
	r.fws[last] = nil
	r.fws = r.fws[:last]
}

// slotIndex returns the position of fr in r.order.
func (r *role) slotIndex(fr *fwRole) int { return indexOf(r.order, slotOf(fr), lessSlot) }

type roleNode struct {
	name     string // path component, or "." for a virtual leaf
	path     string // full role path (the owner's path for a virtual leaf)
	parent   *roleNode
	children []*roleNode // DRF order
	role     *role       // non-nil for leaves
	alloc    Quantities  // scalar allocation of the subtree
	share    float64
	weight   float64 // cached by resort; valid while the order is not stale
}

func (n *roleNode) isLeaf() bool { return n.role != nil }

type roleTree struct {
	root     roleNode
	internal int // internal nodes besides the root; 0 means the tree is flat
}

// shareCalc computes dominant shares against the cluster total.
type shareCalc struct {
	inv      [4]float64 // 1/total for cpus, mem, disk, gpus (0 = ignored)
	invOther []namedInv // sorted by name
}

type namedInv struct {
	name string
	inv  float64
}

func (s *shareCalc) reset(total *Quantities, excluded map[string]bool) {
	inv := func(name string, v int64) float64 {
		if v <= 0 || excluded[name] {
			return 0
		}
		return 1 / float64(v)
	}
	s.inv = [4]float64{inv(Cpus, total.cpus), inv(Mem, total.mem), inv(Disk, total.disk), inv(Gpus, total.gpus)}
	s.invOther = s.invOther[:0]
	for _, o := range total.other {
		if x := inv(o.name, o.v); x != 0 {
			s.invOther = append(s.invOther, namedInv{o.name, x})
		}
	}
}

func (s *shareCalc) share(q *Quantities) float64 {
	sh := float64(q.cpus) * s.inv[0]
	sh = max(sh, float64(q.mem)*s.inv[1], float64(q.disk)*s.inv[2], float64(q.gpus)*s.inv[3])
	if len(q.other) > 0 && len(s.invOther) > 0 {
		j := 0
		for _, o := range q.other {
			for j < len(s.invOther) && s.invOther[j].name < o.name {
				j++
			}
			if j < len(s.invOther) && s.invOther[j].name == o.name {
				sh = max(sh, float64(o.v)*s.invOther[j].inv)
			}
		}
	}
	return sh
}

func (a *Allocator) weightOf(n *roleNode) float64 {
	if n.name == "." {
		return 1
	}
	if w, ok := a.weights[n.path]; ok {
		return w
	}
	return 1
}

// nodeShare is n's share divided by its weight (as of the last resort).
func (a *Allocator) nodeShare(n *roleNode) float64 {
	return a.shares.share(&n.alloc) / n.weight
}

func lessNode(x, y *roleNode) bool {
	if x.share != y.share {
		return x.share < y.share
	}
	return x.name < y.name
}

func lessSlot(x, y fwSlot) bool {
	if x.share != y.share {
		return x.share < y.share
	}
	return x.seq < y.seq
}

func findChild(n *roleNode, name string) *roleNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (t *roleTree) addChild(parent, child *roleNode) {
	child.parent = parent
	parent.children = append(parent.children, child)
}

func (t *roleTree) removeChild(parent, child *roleNode) {
	if i := slices.Index(parent.children, child); i >= 0 {
		parent.children = slices.Delete(parent.children, i, i+1)
	}
	child.parent = nil
}

// add inserts a new client role into the tree. The caller marks the order
// stale (new nodes are appended unsorted).
func (t *roleTree) add(r *role) {
	cur := &t.root
	parts := strings.Split(r.name, "/")
	for i, part := range parts {
		child := findChild(cur, part)
		last := i == len(parts)-1
		if child == nil {
			for j := i; j < len(parts); j++ {
				n := &roleNode{name: parts[j], path: strings.Join(parts[:j+1], "/")}
				t.addChild(cur, n)
				if j < len(parts)-1 {
					t.internal++
				}
				cur = n
			}
			cur.role = r
			r.node = cur
			return
		}
		if child.isLeaf() && !last {
			// An existing leaf gains descendants: move its client into a
			// virtual "." leaf beneath it.
			virt := &roleNode{name: ".", path: child.path, role: child.role, alloc: child.alloc.Clone()}
			child.role.node = virt
			child.role = nil
			t.addChild(child, virt)
			t.internal++
		}
		if last {
			// The path exists as an internal node: add a virtual leaf.
			virt := &roleNode{name: ".", path: child.path, role: r}
			t.addChild(child, virt)
			r.node = virt
			return
		}
		cur = child
	}
}

// remove deletes a client role (whose allocation must already be zero)
// and prunes nodes left without purpose.
func (t *roleTree) remove(r *role) {
	n := r.node
	r.node = nil
	parent := n.parent
	t.removeChild(parent, n)
	for parent != &t.root {
		if len(parent.children) == 0 {
			gp := parent.parent
			t.removeChild(gp, parent)
			t.internal--
			parent = gp
			continue
		}
		if len(parent.children) == 1 && parent.children[0].name == "." {
			// Collapse the virtual leaf back into its owner.
			virt := parent.children[0]
			t.removeChild(parent, virt)
			parent.role = virt.role
			parent.role.node = parent
			parent.alloc = virt.alloc
			t.internal--
		}
		break
	}
}

// resort recomputes every share and sorts the whole tree and every
// role's framework list. Used when totals or weights change.
func (a *Allocator) resort() {
	a.shares.reset(&a.total, a.excluded)
	var walk func(n *roleNode)
	walk = func(n *roleNode) {
		for _, c := range n.children {
			c.weight = a.weightOf(c)
			c.share = a.nodeShare(c)
			if !c.isLeaf() {
				walk(c)
			}
		}
		sortNodes(n.children)
	}
	walk(&a.tree.root)
	for _, r := range a.roles {
		for i := range r.order {
			fr := r.fws[r.order[i].idx]
			fr.share = a.shares.share(&fr.alloc)
			r.order[i].share = fr.share
		}
		slices.SortFunc(r.order, func(x, y fwSlot) int {
			if c := cmp.Compare(x.share, y.share); c != 0 {
				return c
			}
			return cmp.Compare(x.seq, y.seq)
		})
	}
	a.stale = false
}

func sortNodes(ns []*roleNode) {
	slices.SortFunc(ns, func(x, y *roleNode) int {
		if lessNode(x, y) {
			return -1
		}
		if lessNode(y, x) {
			return 1
		}
		return 0
	})
}

// Siblings (by share, then name) and a role's frameworks (by share, then
// registration) stay sorted incrementally. An element whose share changes
// is located by binary search on its old key and moved to its new place
// with one copy: overtaking many equal-share siblings costs O(log n)
// comparisons and no per-element bookkeeping.

// indexOf returns the index of x in s, which is sorted by less and still
// holds x under its current key.
func indexOf[T comparable](s []T, x T, less func(a, b T) bool) int {
	lo, hi := 0, len(s)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); less(s[m], x) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && s[lo] == x {
		return lo
	}
	return slices.Index(s, x) // not reached while the order is intact
}

// reposition restores the order of s, sorted by less except for s[i]
// (whose key just changed), by moving s[i] to its place with one copy.
func reposition[T any](s []T, i int, less func(a, b T) bool) {
	x := s[i]
	switch {
	case i > 0 && less(x, s[i-1]):
		// Moves left, to the first j in [0, i) with x < s[j].
		lo, hi := 0, i-1
		for lo < hi {
			if m := int(uint(lo+hi) >> 1); less(x, s[m]) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		copy(s[lo+1:i+1], s[lo:i])
		s[lo] = x
	case i+1 < len(s) && less(s[i+1], x):
		// Moves right, to the last j in (i, len) with s[j] < x.
		lo, hi := i+1, len(s)-1
		for lo < hi {
			if m := int(uint(lo+hi+1) >> 1); less(s[m], x) {
				lo = m
			} else {
				hi = m - 1
			}
		}
		copy(s[i:lo], s[i+1:lo+1])
		s[lo] = x
	}
}

// charge adds (sign > 0) or removes (sign < 0) q from a framework's role
// allocation and from the role's ancestors, keeping the orders sorted
// unless a full resort is pending anyway.
func (a *Allocator) charge(f *fwRole, q *Quantities, sign int) { a.chargeAt(f, q, sign, -1) }

// chargeAt is charge for a framework believed to sit at position slot of
// its role's order (-1: unknown); a wrong guess only costs a search.
func (a *Allocator) chargeAt(f *fwRole, q *Quantities, sign int, slot int) {
	if sign > 0 {
		f.alloc.Add(*q)
	} else {
		f.alloc.Subtract(*q)
	}
	for n := f.role.node; n != nil && n != &a.tree.root; n = n.parent {
		if sign > 0 {
			n.alloc.Add(*q)
		} else {
			n.alloc.Subtract(*q)
		}
	}
	if a.stale {
		return
	}
	r := f.role
	i := slot
	if i < 0 || i >= len(r.order) || r.order[i].idx != f.idx {
		i = r.slotIndex(f)
	}
	f.share = a.shares.share(&f.alloc)
	r.order[i].share = f.share
	reposition(r.order, i, lessSlot)
	for n := r.node; n != nil && n != &a.tree.root; n = n.parent {
		i := indexOf(n.parent.children, n, lessNode)
		n.share = a.nodeShare(n)
		reposition(n.parent.children, i, lessNode)
	}
}
