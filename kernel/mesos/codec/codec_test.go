package codec

import (
	"errors"
	"testing"
)

func TestForContentType(t *testing.T) {
	tests := []struct {
		in   string
		want Codec
		err  error
	}{
		{"application/json", JSON, nil},
		{"application/json; charset=utf-8", JSON, nil},
		{"Application/JSON", JSON, nil},
		{"application/x-protobuf", Protobuf, nil},
		{" application/x-protobuf ; foo=bar", Protobuf, nil},
		{"", Codec{}, ErrMissingContentType},
		{"   ", Codec{}, ErrMissingContentType},
		{"text/plain", Codec{}, ErrUnsupportedMediaType},
		{"application/protobuf", Codec{}, ErrUnsupportedMediaType},
		{"application/recordio", Codec{}, ErrUnsupportedMediaType},
		{"application/json;;;=", Codec{}, ErrUnsupportedMediaType},
		{"/", Codec{}, ErrUnsupportedMediaType},
	}
	for _, tc := range tests {
		got, err := ForContentType(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ForContentType(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   Codec
		ok     bool
	}{
		{"absent", nil, JSON, true},
		{"empty header", []string{""}, JSON, true},
		{"json", []string{"application/json"}, JSON, true},
		{"protobuf", []string{"application/x-protobuf"}, Protobuf, true},
		{"duplicated protobuf", []string{"application/x-protobuf", "application/x-protobuf"}, Protobuf, true},
		{"both in one header, json wins", []string{"application/x-protobuf, application/json"}, JSON, true},
		{"json wins even with lower q", []string{"application/x-protobuf;q=1, application/json;q=0.1"}, JSON, true},
		{"json excluded by q=0", []string{"application/json;q=0, application/x-protobuf"}, Protobuf, true},
		{"json excluded, wildcard allows protobuf", []string{"application/json; q=0", "*/*"}, Protobuf, true},
		{"star star", []string{"*/*"}, JSON, true},
		{"application star", []string{"application/*"}, JSON, true},
		{"text only", []string{"text/html"}, Codec{}, false},
		{"all excluded", []string{"*/*;q=0"}, Codec{}, false},
		{"specific beats wildcard", []string{"*/*;q=0, application/x-protobuf"}, Protobuf, true},
		{"wildcard q=0 but json listed", []string{"application/*;q=0", "application/json;q=0.5"}, JSON, true},
		{"case and spaces", []string{"  Application/JSON ;Q=0.9 "}, JSON, true},
		{"recordio only", []string{"application/recordio"}, Codec{}, false},
		{"malformed ignored", []string{"garbage, application/x-protobuf;q=abc, application/x-protobuf"}, Protobuf, true},
		{"only malformed", []string{"garbage;q=x"}, Codec{}, false},
		{"q above 1 malformed", []string{"application/json;q=2", "application/x-protobuf"}, Protobuf, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Negotiate(tc.accept)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Negotiate(%q) = %v, %v; want %v, %v", tc.accept, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	if !Accepts(nil, ContentTypeRecordIO) {
		t.Error("no Accept must accept everything")
	}
	if !Accepts([]string{"application/recordio"}, ContentTypeRecordIO) {
		t.Error("exact match refused")
	}
	if Accepts([]string{"application/json"}, ContentTypeRecordIO) {
		t.Error("json accepted recordio")
	}
}

func TestCodecNames(t *testing.T) {
	if JSON.Name() != "json" || JSON.ContentType() != "application/json" || JSON.String() != "json" {
		t.Error("JSON codec names")
	}
	if Protobuf.Name() != "protobuf" || Protobuf.ContentType() != "application/x-protobuf" {
		t.Error("protobuf codec names")
	}
	if (Codec{}).Name() != "" || (Codec{}).ContentType() != "" {
		t.Error("zero codec names")
	}
}
