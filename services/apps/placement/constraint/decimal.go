package constraint

import (
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// decimalSyntax is the number syntax IS compares numerically: an optional
// sign, digits with an optional fraction, and an optional small exponent.
var decimalSyntax = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$`)

// maxDecimalLen bounds the numbers compared exactly, so that a hostile value
// cannot make the comparison expensive.
const maxDecimalLen = 128

var (
	bigThousand = big.NewInt(1000)
	bigTwo      = big.NewInt(2)
)

// thousandths returns s as a whole number of thousandths, rounded half to
// even, or nil when s is not a decimal number.
func thousandths(s string) *big.Int {
	s = strings.TrimSpace(s)
	if len(s) > maxDecimalLen || !decimalSyntax.MatchString(s) {
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	r.Mul(r, new(big.Rat).SetInt(bigThousand))
	return roundHalfEven(r)
}

// roundHalfEven rounds r to the nearest integer, ties to the even one.
func roundHalfEven(r *big.Rat) *big.Int {
	num, den := r.Num(), r.Denom() // den > 0
	q, m := new(big.Int).DivMod(num, den, new(big.Int))
	// DivMod gives the Euclidean quotient, so 0 <= m < den and q is the floor.
	twice := new(big.Int).Mul(m, bigTwo)
	switch twice.Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// formatScalar renders a scalar attribute the way Marathon compares it: at
// most three decimals, rounded half to even, without trailing zeros or digit
// grouping ("2", "0.5", "1234.568").
func formatScalar(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	t := thousandths(strconv.FormatFloat(v, 'f', -1, 64))
	if t == nil {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return formatThousandths(t)
}

// formatThousandths writes n/1000 in decimal without trailing zeros.
func formatThousandths(n *big.Int) string {
	neg := n.Sign() < 0
	digits := new(big.Int).Abs(n).String()
	for len(digits) < 4 {
		digits = "0" + digits
	}
	whole, frac := digits[:len(digits)-3], strings.TrimRight(digits[len(digits)-3:], "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}
