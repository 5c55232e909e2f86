package faults

import (
	"os"
	"testing"

	"strata/kernel/e2e/stratabin"
)

var strataBin string

func TestMain(m *testing.M) {
	os.Exit(stratabin.Main(m, &strataBin))
}
