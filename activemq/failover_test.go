package activemq

import (
	"context"
	"net"
	"testing"
)

func TestConfig_DialNetFailover(t *testing.T) {
	active, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer active.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	standby := closed.Addr().String()
	closed.Close()

	c := Config{Addr: "stomp://" + standby + ", " + active.Addr().String()}.withDefaults()
	conn, err := c.dialNet(context.Background())
	if err != nil {
		t.Fatalf("dialNet(%q) = %v, want a connection to the second address", c.Addr, err)
	}
	defer conn.Close()
	if got := conn.RemoteAddr().String(); got != active.Addr().String() {
		t.Errorf("connected to %s, want %s", got, active.Addr())
	}
	if got := hostOf(c.Addr); got != "127.0.0.1" {
		t.Errorf("hostOf(%q) = %q, want 127.0.0.1", c.Addr, got)
	}
}

func TestConfig_DialNetAllDown(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	c := Config{Addr: addr + "," + addr}.withDefaults()
	if conn, err := c.dialNet(context.Background()); err == nil {
		conn.Close()
		t.Fatal("dialNet with no listening address succeeded")
	}
}
