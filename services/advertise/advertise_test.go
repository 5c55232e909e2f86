package advertise

import (
	"net"
	"os"
	"testing"
)

func TestAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	name, _ := os.Hostname()
	for _, tt := range []struct{ explicit, listen, want string }{
		{"svc.example:80", "127.0.0.1:0", "svc.example:80"},
		{"", "127.0.0.1:0", "127.0.0.1:" + port},
		{"", ":0", net.JoinHostPort(name, port)},
		{"", "0.0.0.0:0", net.JoinHostPort(name, port)},
		{"", "[::]:0", net.JoinHostPort(name, port)},
	} {
		if got := Address(tt.explicit, tt.listen, ln); got != tt.want {
			t.Errorf("Address(%q, %q) = %q, want %q", tt.explicit, tt.listen, got, tt.want)
		}
	}
}
