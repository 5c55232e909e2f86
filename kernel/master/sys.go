package master

import "runtime"

func numCPU() int { return runtime.NumCPU() }
