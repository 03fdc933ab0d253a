package reward

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// mathNames are letter runs that are mathematics, not words or units.
var mathNames = map[string]bool{
	"pi": true, "sqrt": true, "sin": true, "cos": true, "tan": true, "sec": true, "csc": true, "cot": true,
	"arcsin": true, "arccos": true, "arctan": true, "sinh": true, "cosh": true, "tanh": true,
	"log": true, "ln": true, "exp": true, "inf": true, "infty": true, "infinity": true, "oo": true,
}

// unicodeReplacer maps Unicode mathematics to ASCII/LaTeX.
var unicodeReplacer = strings.NewReplacer(
	"\u2212", "-", "\u2013", "-", "\u00d7", `\times `, "\u00f7", `\div `, "\u00b7", `\cdot `, "\u22c5", `\cdot `,
	"\u03c0", `\pi `, "\u221e", `\infty `, "\u221a", `\sqrt`, "\u00b0", `^\circ `, "\u2248", `\approx `, "\u222a", `\cup `, "\u00b1", `\pm `,
	"\u00a0", " ", "\u2009", " ", "\u202f", " ", "\uff05", "%", "\u2014", "-", "\u2032", "'",
	"\u00bd", `\frac{1}{2}`, "\u2153", `\frac{1}{3}`, "\u2154", `\frac{2}{3}`, "\u00bc", `\frac{1}{4}`,
	"\u00be", `\frac{3}{4}`, "\u2155", `\frac{1}{5}`, "\u2159", `\frac{1}{6}`, "\u215b", `\frac{1}{8}`,
	"\u00b2", "^2", "\u00b3", "^3", "\u2264", `\le `, "\u2265", `\ge `, "\u2260", `\ne `,
	"\u211d", `\mathbb{R}`, "\u2205", `\emptyset `,
)

// spacingReplacer drops LaTeX spacing and sizing; "\\" is listed first so a
// row separator is never read as the start of "\,".
var spacingReplacer = strings.NewReplacer(
	`\\`, `\\`, `\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, " ", `\quad`, " ", `\qquad`, " ",
	"~", " ", `\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, `\cfrac`, `\frac`,
	`\%`, "%", `\$`, "", "$", "", "{,}", "", `\lbrace`, `\{`, `\rbrace`, `\}`, `\lvert`, "|", `\rvert`, "|",
	`\vert`, "|", `\langle`, "(", `\rangle`, ")",
)

var (
	sizingRE   = regexp.MustCompile(`\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)\b\.?`)
	degreeRE   = regexp.MustCompile(`(?:\^\s*\{?\s*\\circ\s*\}?|\\circ\b|\\degree\b)(?:\s*[CF]\b)?|\^\s*\{\s*\}`)
	percentRE  = regexp.MustCompile(`\s*(?i:percent|per\s+cent)\b`)
	textCmdRE  = regexp.MustCompile(`\\(?:text|textbf|textit|textrm|textsf|texttt|textnormal|mbox|hbox|emph|mathrm|mathbf|mathit|mathsf|mathtt|operatorname)\s*\{`)
	unitWordRE = regexp.MustCompile(`^\(?[A-Za-z][A-Za-z .\-/]*\)?$`)
	// expAfterRE is an exponent that belonged to a removed unit, as in "\text{cm}^2".
	expAfterRE  = regexp.MustCompile(`^\s*\^\s*\{?\s*[23]\s*\}?`)
	leadWordsRE = regexp.MustCompile(`^(?i:approximately|approx\.?|about|around|roughly|exactly|only|just|a total of|total of|total)\s+`)
	// trailWordRE is a trailing word (a unit, a noun) after a quantity.
	trailWordRE = regexp.MustCompile(`\s*([A-Za-z]{2,})\.?(?:\s*\^\s*\{?[23]\}?)?\s*$`)
	// perUnitRE is a trailing compound unit: "km/h", "m/s^2".
	perUnitRE = regexp.MustCompile(`\s*[A-Za-z]+/[A-Za-z]+(?:\^\{?\d\}?)?\s*$`)
	// stuckUnitRE is a unit written against its number: "5cm", "18kg".
	stuckUnitRE = regexp.MustCompile(`(\d)\s*(?:cm|mm|km|kg|mg|lbs?|oz|ft|yd|mi|hrs?|mins?|secs?|ml|mL|mph|kph|sq|st|nd|rd|th)\.?$`)
	fracShortRE = regexp.MustCompile(`\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])`)
	fracHalfRE  = regexp.MustCompile(`\\frac\s*([0-9a-zA-Z])\s*\{`)
	sqrtShortRE = regexp.MustCompile(`\\sqrt\s*([0-9a-zA-Z])`)
	spacesRE    = regexp.MustCompile(`\s+`)
	// conjunctionRE joins alternatives: "1 or 2", "x = 1 and x = 2", "1, 2,
	// and 3".
	conjunctionRE = regexp.MustCompile(`(?:\s*,)?\s+(?i:and|or)\s+`)
	// emptySetRE is the empty set written other ways than \emptyset.
	emptySetRE = regexp.MustCompile(`\\varnothing\b|\\empty\b|\\\{\s*\\\}|^\{\s*\}$`)
	// realsRE is the set of all reals, which is the interval (-∞, ∞).
	realsRE = regexp.MustCompile(`\\mathbb\s*\{?\s*R\s*\}?|\\R\b|^(?i:all\s+real\s+numbers|all\s+reals)$`)
	// chooseRE is "{n \choose k}", which is \binom{n}{k}.
	chooseRE = regexp.MustCompile(`\{\s*([^{}]*?)\s*\\choose\b\s*([^{}]*?)\s*\}`)
	// repeatingRE is a repeating decimal: "0.\overline{3}", "1.2\overline{45}".
	repeatingRE = regexp.MustCompile(`(\d*)\.(\d*)\\overline\s*\{(\d{1,12})\}`)
	// scaleRE is a number with a scale word: "1.5 million", "2 thousand".
	scaleRE = regexp.MustCompile(`(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(?i:(thousand|million|billion|trillion))\b`)
)

// maxNormalizeLen bounds the text normalizeAnswer works on; longer answers
// are no mathematical answers anyone writes.
const maxNormalizeLen = 4000

// normalizeAnswer rewrites an extracted answer into the plain form the math
// parser reads: delimiters, \boxed, spacing, \text units, currency, degree
// signs and trailing unit words removed; LaTeX fraction variants unified.
func normalizeAnswer(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNormalizeLen {
		return s
	}
	s = unicodeReplacer.Replace(s)
	s = unwrapBoxed(s)
	s = stripMathDelimiters(s)
	s = sizingRE.ReplaceAllString(s, "")
	s = spacingReplacer.Replace(s)
	s = degreeRE.ReplaceAllString(s, "")
	s = percentRE.ReplaceAllString(s, "%")
	s = repeatingRE.ReplaceAllStringFunc(s, repeatingFraction)
	s = chooseRE.ReplaceAllString(s, `\binom{$1}{$2}`)
	s = realsRE.ReplaceAllString(s, `(-\infty,\infty)`)
	s = unwrapText(s)
	s = fracShortRE.ReplaceAllString(s, `\frac{$1}{$2}`)
	s = fracHalfRE.ReplaceAllString(s, `\frac{$1}{`)
	s = sqrtShortRE.ReplaceAllString(s, `\sqrt{$1}`)
	s = strings.TrimSpace(spacesRE.ReplaceAllString(s, " "))
	s = strings.Trim(s, "*")
	s = leadWordsRE.ReplaceAllString(s, "")
	s = scaleRE.ReplaceAllStringFunc(s, scaledNumber)
	s = stripUnits(s)
	if hasDigit(s) {
		s = conjunctionRE.ReplaceAllString(s, " , ")
	}
	s = strings.TrimSpace(strings.TrimRight(s, ".,;:? "))
	// "Sunday!" but not "n!" or "5!".
	for len(s) > 2 && s[len(s)-1] == '!' && isLetter(s[len(s)-2]) && hasWord(s) {
		s = strings.TrimSpace(s[:len(s)-1])
	}
	low := strings.ToLower(s)
	if n, ok := numberWords[low]; ok {
		s = n
	} else if n, ok := wordNumber(low); ok {
		s = n
	}
	s = emptySetRE.ReplaceAllString(s, `\emptyset`)
	s = realsRE.ReplaceAllString(s, `(-\infty,\infty)`)
	return s
}

// repeatingFraction rewrites a repeating decimal matched by repeatingRE as
// an exact fraction: "0.1\overline{6}" is \frac{15}{90}.
func repeatingFraction(m string) string {
	sub := repeatingRE.FindStringSubmatch(m)
	whole, fixed, rep := sub[1], sub[2], sub[3]
	if whole == "" {
		whole = "0"
	}
	// x = whole.fixed(rep)…: x·10^(f+r) − x·10^f = whole fixed rep − whole fixed.
	all, ok1 := new(big.Int).SetString(whole+fixed+rep, 10)
	head, ok2 := new(big.Int).SetString(whole+fixed, 10)
	if !ok1 || !ok2 {
		return m
	}
	num := new(big.Int).Sub(all, head)
	den := new(big.Int).Sub(pow10Int(len(fixed)+len(rep)), pow10Int(len(fixed)))
	return `\frac{` + num.String() + "}{" + den.String() + "}"
}

func pow10Int(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// scaleFactors are the scale words a number may carry.
var scaleFactors = map[string]int64{"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}

// scaledNumber rewrites "1.5 million" as "1500000".
func scaledNumber(m string) string {
	sub := scaleRE.FindStringSubmatch(m)
	r, ok := new(big.Rat).SetString(strings.ReplaceAll(sub[1], ",", "") + sub[2])
	if !ok {
		return m
	}
	r.Mul(r, new(big.Rat).SetInt64(scaleFactors[strings.ToLower(sub[3])]))
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}

// wordNumber reads a whole number written in words below a million:
// "twenty-one", "one hundred and five", "three thousand two hundred".
func wordNumber(s string) (string, bool) {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' })
	if len(words) < 2 || len(words) > 10 {
		return "", false
	}
	total, group, any := 0, 0, false
	for _, w := range words {
		switch v, ok := wordValues[w]; {
		case w == "and":
		case ok && (v < 10 && group%10 == 0 || v >= 10 && group%100 == 0):
			group += v
			any = true
		case w == "hundred" && group > 0:
			group *= 100
		case w == "thousand" && group > 0 && total == 0:
			total, group = group*1000, 0
		default:
			return "", false
		}
	}
	if !any {
		return "", false
	}
	return strconv.Itoa(total + group), true
}

// wordValues are the number words wordNumber adds up.
var wordValues = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
	"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
	"seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
	"fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}

// numberWords are answers written in words.
var numberWords = map[string]string{
	"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
	"thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
	"eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
	"fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
	"hundred": "100", "a hundred": "100", "one hundred": "100", "thousand": "1000",
	"one thousand": "1000", "half": "1/2", "one half": "1/2", "a half": "1/2",
	"one third": "1/3", "a third": "1/3", "one quarter": "1/4", "a quarter": "1/4",
}

// unwrapBoxed replaces every \boxed{X} and \fbox{X} by X.
func unwrapBoxed(s string) string {
	for _, cmd := range []string{`\boxed`, `\fbox`} {
		for n := 0; n < 16; n++ {
			i := strings.Index(s, cmd)
			if i < 0 {
				break
			}
			rest := strings.TrimLeft(s[i+len(cmd):], " ")
			if !strings.HasPrefix(rest, "{") {
				s = s[:i] + rest
				continue
			}
			inner, after, ok := braceGroup(rest)
			if !ok {
				s = s[:i] + rest[1:]
				continue
			}
			s = s[:i] + inner + after
		}
	}
	return s
}

// stripMathDelimiters removes math delimiters around s ($…$, \(…\), \[…\]).
func stripMathDelimiters(s string) string {
	for n := 0; n < 4; n++ {
		t := strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(t, `\(`) && strings.HasSuffix(t, `\)`) && len(t) >= 4:
			t = t[2 : len(t)-2]
		case strings.HasPrefix(t, `\[`) && strings.HasSuffix(t, `\]`) && len(t) >= 4:
			t = t[2 : len(t)-2]
		}
		if t == s {
			break
		}
		s = t
	}
	return s
}

// unwrapText handles \text{…} and its kin: a unit word beside a quantity
// ("5\text{ cm}") is dropped, "and"/"or" become list commas, anything else
// is kept without the command.
func unwrapText(s string) string {
	for n := 0; n < 32; n++ {
		loc := textCmdRE.FindStringIndex(s)
		if loc == nil {
			return s
		}
		inner, after, ok := braceGroup(s[loc[1]-1:])
		if !ok {
			return s[:loc[0]] + s[loc[1]:]
		}
		before := s[:loc[0]]
		content := strings.TrimSpace(inner)
		isMath := strings.HasPrefix(s[loc[0]:], `\math`) || strings.HasPrefix(s[loc[0]:], `\operatorname`)
		switch low := strings.ToLower(content); {
		case low == "and" || low == "or":
			s = before + " , " + after
		case unitWordRE.MatchString(content) && strings.ContainsAny(before+after, "0123456789") &&
			!(isMath && len(content) == 1) && !mathNames[low] && !goldChoiceRE.MatchString(content):
			after = expAfterRE.ReplaceAllString(after, "")
			s = before + " " + after
		default:
			s = before + " " + inner + " " + after
		}
	}
	return s
}

// stripUnits removes units and nouns trailing a quantity: "10 dollars",
// "5 km/h", "3cm", "7 apples per day".
func stripUnits(s string) string {
	for n := 0; n < 8; n++ {
		t := s
		if loc := perUnitRE.FindStringIndex(t); loc != nil && hasDigit(t[:loc[0]]) {
			t = t[:loc[0]]
		} else if m := trailWordRE.FindStringSubmatchIndex(t); m != nil && m[2] > m[0] &&
			hasDigit(t[:m[0]]) && !mathNames[strings.ToLower(t[m[2]:m[3]])] {
			t = t[:m[0]]
		} else if m := stuckUnitRE.FindStringSubmatchIndex(t); m != nil {
			t = t[:m[3]]
		}
		t = strings.TrimSpace(t)
		if t == s {
			break
		}
		s = t
	}
	return s
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }
