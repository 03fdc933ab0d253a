package model

import (
	"strings"
	"testing"
)

func TestEndpointKindAndValidate(t *testing.T) {
	tests := []struct {
		ep      Endpoint
		kind    string
		wantErr string
	}{
		{Endpoint{}, EndpointLocal, ""},
		{Endpoint{BaseURL: "local", Weights: "w.bin"}, EndpointLocal, ""},
		{Endpoint{BaseURL: "fake"}, EndpointFake, ""},
		{Endpoint{BaseURL: "http://127.0.0.1:8000/v1"}, "openai", ""},
		{Endpoint{BaseURL: "ftp://x"}, "openai", "neither an http(s) URL"},
		{Endpoint{BaseURL: "fake", Weights: "w.bin"}, EndpointFake, "local model only"},
	}
	for _, tt := range tests {
		if got := tt.ep.Kind(); got != tt.kind {
			t.Errorf("%+v: Kind = %q, want %q", tt.ep, got, tt.kind)
		}
		err := tt.ep.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%+v: Validate = %v, want error containing %q", tt.ep, err, tt.wantErr)
		}
	}
}
