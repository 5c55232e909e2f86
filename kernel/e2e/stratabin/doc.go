// Package stratabin gives end-to-end tests the strata binary they start:
// $STRATA_BIN when it is set (make test builds bin/strata and sets it), or
// one built for the test run with the Makefile's build tags (the podman
// bindings need them).
package stratabin
