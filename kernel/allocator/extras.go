package allocator

import "slices"

// Copy-on-write edits of the name-sorted slices in extras. Each returns a
// new slice when something changes and never writes into its argument,
// which may be shared by other bundles.

// withScalar returns s with v (may be negative) added to the named scalar,
// saturating at zero (a scalar that reaches zero is dropped).
func withScalar(s []namedScalar, name string, v int64) []namedScalar {
	i, ok := slices.BinarySearchFunc(s, name, cmpScalarName)
	switch {
	case ok && s[i].v+v <= 0:
		return without(s, i)
	case ok:
		return replaced(s, i, namedScalar{name, s[i].v + v})
	case v > 0:
		return inserted(s, i, namedScalar{name, v})
	}
	return s
}

// withRanges returns s with rs (normalized, and immutable from now on)
// unioned into the named ranges.
func withRanges(s []namedRanges, name string, rs []Range) []namedRanges {
	if len(rs) == 0 {
		return s
	}
	i, ok := slices.BinarySearchFunc(s, name, cmpRangesName)
	if ok {
		return replaced(s, i, namedRanges{name, unionRanges(s[i].r, rs)})
	}
	return inserted(s, i, namedRanges{name, rs})
}

// withoutRanges returns s with rs removed from the named ranges.
func withoutRanges(s []namedRanges, name string, rs []Range) []namedRanges {
	i, ok := slices.BinarySearchFunc(s, name, cmpRangesName)
	if !ok {
		return s
	}
	left := subtractRanges(s[i].r, rs)
	switch {
	case len(left) == 0:
		return without(s, i)
	case sameSlice(left, s[i].r):
		return s
	}
	return replaced(s, i, namedRanges{name, left})
}

// withSet returns s with items (normalized, and immutable from now on)
// unioned into the named set.
func withSet(s []namedSet, name string, items []string) []namedSet {
	if len(items) == 0 {
		return s
	}
	i, ok := slices.BinarySearchFunc(s, name, cmpSetName)
	if ok {
		return replaced(s, i, namedSet{name, unionSet(s[i].items, items)})
	}
	return inserted(s, i, namedSet{name, items})
}

// withoutSet returns s with items removed from the named set.
func withoutSet(s []namedSet, name string, items []string) []namedSet {
	i, ok := slices.BinarySearchFunc(s, name, cmpSetName)
	if !ok {
		return s
	}
	left := subtractSet(s[i].items, items)
	switch {
	case len(left) == 0:
		return without(s, i)
	case len(left) == len(s[i].items): // nothing removed
		return s
	}
	return replaced(s, i, namedSet{name, left})
}

// replaced returns a copy of s with s[i] set to x.
func replaced[T any](s []T, i int, x T) []T {
	c := slices.Clone(s)
	c[i] = x
	return c
}

// inserted returns a copy of s with x inserted at i.
func inserted[T any](s []T, i int, x T) []T {
	c := make([]T, len(s)+1)
	copy(c, s[:i])
	c[i] = x
	copy(c[i+1:], s[i:])
	return c
}

// without returns a copy of s without s[i] (nil when nothing is left).
func without[T any](s []T, i int) []T {
	if len(s) == 1 {
		return nil
	}
	c := make([]T, len(s)-1)
	copy(c, s[:i])
	copy(c[i:], s[i+1:])
	return c
}
