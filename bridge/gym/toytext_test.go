package gym

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupToyText(t *testing.T) {
	tests := []struct {
		env   string
		found bool
		first string // the first action name
	}{
		{"FrozenLake-v1", true, "left"},
		{"FrozenLake8x8-v1", true, "left"},
		{"Taxi-v3", true, "south"},
		{"Taxi", true, "south"},
		{"CliffWalking-v0", true, "up"},
		{"CliffWalking-v1", true, "up"},
		{"Blackjack-v1", true, "stick"},
		{"mymodule:Taxi-v3", true, "south"},
		{" Blackjack-v1 ", true, "stick"},
		{"ns/Taxi-v3", false, ""},
		{"gridworld:make", false, ""},
		{"Taxi-vX", false, ""},
		{"CartPole-v1", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		got, ok := lookupToyText(tt.env)
		if ok != tt.found || (ok && got.actions[0] != tt.first) {
			t.Errorf("lookupToyText(%q) = %v, %v; want found %v, first action %q", tt.env, got.actions, ok, tt.found, tt.first)
		}
	}
}

func TestDefaultActionNames(t *testing.T) {
	tests := []struct {
		env   string
		space string
		want  []string
	}{
		{"FrozenLake-v1", `{"type":"discrete","n":4}`, []string{"left", "down", "right", "up"}},
		{"Taxi-v3", `{"type":"discrete","n":6}`, []string{"south", "north", "east", "west", "pickup", "dropoff"}},
		{"CliffWalking-v1", `{"type":"discrete","n":4}`, []string{"up", "right", "down", "left"}},
		{"Blackjack-v1", `{"type":"discrete","n":2}`, []string{"stick", "hit"}},
		{"FrozenLake-v1", `{"type":"discrete","n":5}`, nil},           // not the known space
		{"FrozenLake-v1", `{"type":"discrete","n":4,"start":1}`, nil}, // numbered differently
		{"FrozenLake-v1", `{"type":"box","shape":[4]}`, nil},
		{"gridworld:make", `{"type":"discrete","n":4}`, nil},
	}
	for _, tt := range tests {
		if got := defaultActionNames(tt.env, decodeSpace(t, tt.space)); !cmp.Equal(got, tt.want) {
			t.Errorf("defaultActionNames(%s, %s) = %v, want %v", tt.env, tt.space, got, tt.want)
		}
	}
}

func TestDescribeBlackjack(t *testing.T) {
	tests := []struct{ obs, want string }{
		{`[14, 10, 0]`, "player sum 14, dealer shows 10, usable ace: no"},
		{`[21,1,1]`, "player sum 21, dealer shows an ace, usable ace: yes"},
		{`[4, 2, 0]`, "player sum 4, dealer shows 2, usable ace: no"},
		{`[14, 10]`, ""},
		{`"x"`, ""},
		{`14`, ""},
	}
	for _, tt := range tests {
		if got := describeBlackjack(json.RawMessage(tt.obs)); got != tt.want {
			t.Errorf("describeBlackjack(%s) = %q, want %q", tt.obs, got, tt.want)
		}
	}
}

func TestDescribeTaxi(t *testing.T) {
	tests := []struct{ obs, want string }{
		// ((3*5 + 0)*5 + 3)*4 + 2 = 314
		{`314`, "taxi at row 3, column 0; passenger waiting at B (row 4, column 3); destination Y (row 4, column 0)"},
		// ((0*5 + 4)*5 + 4)*4 + 1 = 97: passenger aboard
		{`97`, "taxi at row 0, column 4; passenger in the taxi; destination G (row 0, column 4)"},
		{`0`, "taxi at row 0, column 0; passenger waiting at R (row 0, column 0); destination R (row 0, column 0)"},
		{`499`, "taxi at row 4, column 4; passenger in the taxi; destination B (row 4, column 3)"},
		{`500`, ""},
		{`-1`, ""},
		{`3.5`, ""},
		{`[1]`, ""},
	}
	for _, tt := range tests {
		if got := describeTaxi(json.RawMessage(tt.obs)); got != tt.want {
			t.Errorf("describeTaxi(%s) = %q, want %q", tt.obs, got, tt.want)
		}
	}
}

func TestDescriberFitsSpace(t *testing.T) {
	blackjack := decodeSpace(t, `{"type":"tuple","spaces":[{"type":"discrete","n":32},{"type":"discrete","n":11},{"type":"discrete","n":2}]}`)
	taxi := decodeSpace(t, `{"type":"discrete","n":500}`)
	if describer("Blackjack-v1", blackjack) == nil || describer("Taxi-v3", taxi) == nil {
		t.Error("no describer for Blackjack or Taxi with their own spaces")
	}
	if describer("Blackjack-v1", taxi) != nil || describer("Taxi-v3", blackjack) != nil || describer("FrozenLake-v1", taxi) != nil {
		t.Error("a describer for a space it does not read")
	}
}

func FuzzToyText(f *testing.F) {
	f.Add("Taxi-v3", []byte(`314`))
	f.Add("Blackjack-v1", []byte(`[14, 10, 0]`))
	f.Add("mod:FrozenLake8x8-v12", []byte(`[1e308, -0, 1]`))
	f.Add("ns/Taxi-v3", []byte(`"x"`))
	f.Add("-v1", []byte(`499.0`))
	f.Fuzz(func(t *testing.T, env string, obs []byte) {
		if tt, ok := lookupToyText(env); ok && len(tt.actions) == 0 {
			t.Errorf("lookupToyText(%q) found an entry without action names", env)
		}
		if d := describeTaxi(obs); d != "" {
			var f float64
			if json.Unmarshal(obs, &f) != nil || f < 0 || f >= 500 || f != float64(int64(f)) {
				t.Errorf("describeTaxi(%q) = %q for an observation that is not a Taxi state", obs, d)
			}
		}
		if d := describeBlackjack(obs); d != "" {
			var v []float64
			if json.Unmarshal(obs, &v) != nil || len(v) != 3 {
				t.Errorf("describeBlackjack(%q) = %q for an observation that is not a 3-tuple", obs, d)
			}
		}
	})
}
