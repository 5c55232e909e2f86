package agent

import (
	"os"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func osIsRoot() bool { return os.Geteuid() == 0 }
