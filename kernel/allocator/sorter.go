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
// the hot path never compares id strings).

// role is a client of the role sorter: a role with at least one tracked
// framework (subscribed, or still holding resources in it).
type role struct {
	name string
	node *roleNode  // the leaf representing this role
	fws  []*fwRole  // DRF order
	top  *quotaRole // quota of the top-level ancestor, nil when none
}

type roleNode struct {
	name     string // path component, or "." for a virtual leaf
	path     string // full role path (the owner's path for a virtual leaf)
	parent   *roleNode
	children []*roleNode // DRF order
	role     *role       // non-nil for leaves
	alloc    Quantities  // scalar allocation of the subtree
	share    float64
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

func (a *Allocator) nodeShare(n *roleNode) float64 {
	return a.shares.share(&n.alloc) / a.weightOf(n)
}

func lessNode(x, y *roleNode) bool {
	if x.share != y.share {
		return x.share < y.share
	}
	return x.name < y.name
}

func lessFw(x, y *fwRole) bool {
	if x.share != y.share {
		return x.share < y.share
	}
	return x.fw.seq < y.fw.seq
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
			c.share = a.nodeShare(c)
			if !c.isLeaf() {
				walk(c)
			}
		}
		sortNodes(n.children)
	}
	walk(&a.tree.root)
	for _, r := range a.roles {
		for _, fr := range r.fws {
			fr.share = a.shares.share(&fr.alloc)
		}
		sortFws(r.fws)
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

func sortFws(fs []*fwRole) {
	slices.SortFunc(fs, func(x, y *fwRole) int {
		if c := cmp.Compare(x.share, y.share); c != 0 {
			return c
		}
		return cmp.Compare(x.fw.seq, y.fw.seq)
	})
}

// Siblings and a role's frameworks are kept sorted by (share, name). An
// element whose share changes is located by binary search on its old key
// and moved to its new place with one memmove: overtaking many equal-share
// siblings costs O(log n) comparisons and no per-element bookkeeping.

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

// moveNode re-sorts n, which sat at index i before its share changed.
func moveNode(n *roleNode, i int) {
	s := n.parent.children
	lo, hi := newPlace(len(s), i, func(j int) bool { return lessNode(n, s[j]) }, func(j int) bool { return lessNode(s[j], n) })
	shift(s, i, lo, hi)
}

// moveFw re-sorts f, which sat at index i before its share changed.
func moveFw(f *fwRole, i int) {
	s := f.role.fws
	lo, hi := newPlace(len(s), i, func(j int) bool { return lessFw(f, s[j]) }, func(j int) bool { return lessFw(s[j], f) })
	shift(s, i, lo, hi)
}

// newPlace finds where the element at i belongs in a slice of length n
// that is sorted except for it. before(j) reports element < s[j]; after(j)
// reports s[j] < element. It returns the range [lo, hi] of positions that
// change (lo == hi when nothing moves).
func newPlace(n, i int, before, after func(j int) bool) (lo, hi int) {
	switch {
	case i > 0 && before(i-1):
		// First j in [0, i) with element < s[j].
		lo, hi = 0, i-1
		for lo < hi {
			if m := int(uint(lo+hi) >> 1); before(m) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		return lo, i
	case i+1 < n && after(i+1):
		// Last j in (i, n) with s[j] < element.
		lo, hi = i+1, n-1
		for lo < hi {
			if m := int(uint(lo+hi+1) >> 1); after(m) {
				lo = m
			} else {
				hi = m - 1
			}
		}
		return i, lo
	}
	return i, i
}

// shift moves s[from] to the other end of [lo, hi] (from is lo or hi).
func shift[T any](s []T, from, lo, hi int) {
	if lo == hi {
		return
	}
	x := s[from]
	if from == hi {
		copy(s[lo+1:hi+1], s[lo:hi])
		s[lo] = x
	} else {
		copy(s[lo:hi], s[lo+1:hi+1])
		s[hi] = x
	}
}

// charge adds (sign > 0) or removes (sign < 0) q from a framework's role
// allocation and from the role's ancestors, keeping the orders sorted
// unless a full resort is pending anyway.
func (a *Allocator) charge(f *fwRole, q *Quantities, sign int) {
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
	i := indexOf(f.role.fws, f, lessFw)
	f.share = a.shares.share(&f.alloc)
	moveFw(f, i)
	for n := f.role.node; n != nil && n != &a.tree.root; n = n.parent {
		i := indexOf(n.parent.children, n, lessNode)
		n.share = a.nodeShare(n)
		moveNode(n, i)
	}
}
