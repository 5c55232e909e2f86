package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"strata/services/jobs/job"
)

// edges returns the dependency edges (parent → child) between existing jobs, ordered by child,
// then by the order of the child's parents. jobs is in id order.
func edges(jobs []*job.Job) [][2]string {
	known := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		known[j.ID] = true
	}
	var out [][2]string
	for _, j := range jobs {
		for _, p := range j.Parents {
			if known[p] {
				out = append(out, [2]string{p, j.ID})
			}
		}
	}
	return out
}

// dotQuote writes s as a Graphviz double-quoted string.
func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// chronosDot is GET /graph/dot: the dependency graph in Graphviz dot, as Chronos writes it
// (vertices numbered from 1 and labelled with the job's name, then the edges), in a
// deterministic order: jobs by id, edges by child.
func (s *server) chronosDot(c *gin.Context) {
	jobs := s.eng.Jobs()
	num := make(map[string]int, len(jobs))
	var b strings.Builder
	b.WriteString("digraph G {\n")
	for i, j := range jobs {
		num[j.ID] = i + 1
		fmt.Fprintf(&b, "  %d [ label=%s ];\n", i+1, dotQuote(j.ID))
	}
	for _, e := range edges(jobs) {
		fmt.Fprintf(&b, "  %d -> %d;\n", num[e[0]], num[e[1]])
	}
	b.WriteString("}\n")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(b.String()))
}

// chronosCSV is GET /graph/csv: "node,<name>,<last state>,<state>" per job, then
// "link,<parent>,<child>" per dependency, as Chronos' exporter writes them.
func (s *server) chronosCSV(c *gin.Context) {
	jobs := s.eng.Jobs()
	var b strings.Builder
	for _, j := range jobs {
		fmt.Fprintf(&b, "node,%s,%s,%s\n", j.ID, lastState(j), s.runState(j.ID))
	}
	for _, e := range edges(jobs) {
		fmt.Fprintf(&b, "link,%s,%s\n", e[0], e[1])
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(b.String()))
}
