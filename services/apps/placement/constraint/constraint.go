package constraint

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Operator is a constraint operator, spelled as in Marathon's JSON.
type Operator string

// The operators Marathon's array form accepts.
const (
	Unique  Operator = "UNIQUE"
	Cluster Operator = "CLUSTER"
	GroupBy Operator = "GROUP_BY"
	Like    Operator = "LIKE"
	Unlike  Operator = "UNLIKE"
	MaxPer  Operator = "MAX_PER"
	Is      Operator = "IS"
)

// Operators lists every operator, in the order error messages name them.
var Operators = []Operator{Unique, Cluster, GroupBy, Like, Unlike, MaxPer, Is}

// Field names with a meaning of their own; any other field is an attribute.
const (
	FieldHostname   = "hostname"
	FieldAtHostname = "@hostname"
	FieldRegion     = "@region"
	FieldZone       = "@zone"
)

// ErrInvalid is wrapped by every error Parse and ParseAll return.
var ErrInvalid = errors.New("invalid constraint")

// Constraint is one parsed and validated constraint. The zero value is not
// usable; build one with Parse.
type Constraint struct {
	Field    string
	Operator Operator
	Value    string
	// HasValue is false when the array had only two elements.
	HasValue bool

	re     *regexp.Regexp // LIKE, UNLIKE
	n      int            // GROUP_BY (0 without a value), MAX_PER
	number *big.Int       // IS: the value in thousandths, when it is a number
}

// Array returns the constraint in Marathon's array form.
func (c Constraint) Array() []string {
	if !c.HasValue {
		return []string{c.Field, string(c.Operator)}
	}
	return []string{c.Field, string(c.Operator), c.Value}
}

// String renders the constraint as "field:OPERATOR[:value]", the form
// Marathon's command line takes.
func (c Constraint) String() string {
	if !c.HasValue {
		return c.Field + ":" + string(c.Operator)
	}
	return c.Field + ":" + string(c.Operator) + ":" + c.Value
}

// Violation is one invalid constraint, as the API reports it in a 422's
// details.
type Violation struct {
	// Index is the position of the constraint in the app's list.
	Index   int
	Message string
}

// Path is the JSON path of the constraint in the app definition, in
// Marathon's notation: "/constraints(2)".
func (v Violation) Path() string { return fmt.Sprintf("/constraints(%d)", v.Index) }

// Error implements error.
func (v Violation) Error() string {
	return fmt.Sprintf("constraint: constraints(%d): %s", v.Index, v.Message)
}

// Validate checks a list of constraints and reports every invalid one; the
// result is empty when all are valid.
func Validate(raw [][]string) []Violation {
	var out []Violation
	for i, c := range raw {
		if _, msg := parse(c); msg != "" {
			out = append(out, Violation{Index: i, Message: msg})
		}
	}
	return out
}

// Parse validates and compiles one constraint in array form.
func Parse(raw []string) (Constraint, error) {
	c, msg := parse(raw)
	if msg != "" {
		return Constraint{}, fmt.Errorf("constraint: %w: %s", ErrInvalid, msg)
	}
	return c, nil
}

// ParseAll validates and compiles a list of constraints. On failure the
// error names every invalid one and wraps ErrInvalid.
func ParseAll(raw [][]string) ([]Constraint, error) {
	out := make([]Constraint, 0, len(raw))
	var errs []error
	for i, r := range raw {
		c, msg := parse(r)
		if msg != "" {
			errs = append(errs, fmt.Errorf("constraint: constraints(%d): %w: %s", i, ErrInvalid, msg))
			continue
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// parse returns the compiled constraint, or a non-empty message saying why
// it is invalid. Messages follow Marathon's wording where it has one.
func parse(raw []string) (Constraint, string) {
	if len(raw) < 2 || len(raw) > 3 {
		return Constraint{}, fmt.Sprintf("illegal constraint specification %s; expected [field, operator] or [field, operator, value]", strings.Join(raw, ","))
	}
	c := Constraint{Field: raw[0], Operator: Operator(raw[1])}
	if len(raw) == 3 {
		c.Value, c.HasValue = raw[2], true
	}
	if c.Field == "" {
		return Constraint{}, "Missing field and operator"
	}
	switch c.Operator {
	case Unique:
		if c.HasValue {
			return Constraint{}, "Value specified but not used"
		}
	case Cluster:
		// The value is optional: without one the first instance pins it.
	case GroupBy:
		if c.HasValue {
			n, ok := parseInt(c.Value)
			if !ok {
				return Constraint{}, "Value was specified but is not a number: GROUP_BY may either have no value or an integer value"
			}
			c.n = n
		}
	case MaxPer:
		n, ok := parseInt(c.Value)
		if !c.HasValue || !ok {
			return Constraint{}, "Value was not specified or is not a number: MAX_PER must have an integer value"
		}
		c.n = n
	case Like, Unlike:
		if !c.HasValue {
			return Constraint{}, "A regular expression value must be provided"
		}
		// Compile the expression alone first, so that a value such as
		// "a)|(b" cannot balance the anchoring group around it.
		if _, err := regexp.Compile(c.Value); err != nil {
			return Constraint{}, fmt.Sprintf("'%s' is not a valid regular expression", c.Value)
		}
		re, err := regexp.Compile(`^(?:` + c.Value + `)$`)
		if err != nil {
			return Constraint{}, fmt.Sprintf("'%s' is not a valid regular expression", c.Value)
		}
		c.re = re
	case Is:
		if !c.HasValue {
			return Constraint{}, "Missing value: IS needs the value to compare with"
		}
		c.number = thousandths(c.Value)
	default:
		return Constraint{}, fmt.Sprintf("illegal constraint operator %s; operator must be one of %s", c.Operator, operatorList())
	}
	return c, ""
}

// parseInt reads a 32-bit decimal integer, as Marathon's toInt does.
func parseInt(s string) (int, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

func operatorList() string {
	names := make([]string, len(Operators))
	for i, op := range Operators {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}
