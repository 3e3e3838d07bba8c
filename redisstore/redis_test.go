package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// redisAddr is the address of the redis-server TestMain started for the
// package's tests and examples.
var redisAddr string

func TestMain(m *testing.M) {
	srv, err := startRedis()
	if err != nil {
		if os.Getenv("CI") == "" {
			fmt.Println("SKIP: these tests need a real Redis:", err, "(apt-get install redis-server)")
			os.Exit(0)
		}
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
	redisAddr = srv.addr
	code := m.Run()
	srv.stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Println("goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// redisServer is a redis-server process on a free loopback port, keeping
// nothing on disk.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func startRedis() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "redisstore-test-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	rdb := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1})
	defer rdb.Close()
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if rdb.Ping(context.Background()).Err() == nil {
			return s, nil
		}
		if time.Since(start) > 10*time.Second {
			s.stop()
			return nil, fmt.Errorf("redis-server did not answer on %s", s.addr)
		}
	}
}

// stop kills the server (as a crash would) and waits for it.
func (s *redisServer) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// newRedis starts a server of the test's own, stopped when the test ends.
func newRedis(t *testing.T) *redisServer {
	t.Helper()
	s, err := startRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}
