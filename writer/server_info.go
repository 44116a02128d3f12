package writer

import (
	"fmt"
	"strconv"
	"strings"
)

// ServerInfo is what chload needs to know of a server, detected once per
// run: its version, its time zone and the capabilities that choose a path.
type ServerInfo struct {
	// Version is the server's version string, e.g. "18.16.1".
	Version string
	// Major and Minor are the first two parts of Version.
	Major, Minor int
	// Timezone is the server's default time zone, used for DateTime columns
	// declared without one.
	Timezone string
	// Cores is the server's max_threads: the cores it uses for a query (0
	// when unknown). Nodes on one host share its concurrency.
	Cores int
}

// NewServerInfo reads a server's version string (version()) into its
// parts; timezone is timezone(), cores max_threads. Capabilities are asked
// of it with AtLeast, where a path depends on them.
func NewServerInfo(version, timezone string, cores int) (ServerInfo, error) {
	info := ServerInfo{Version: version, Timezone: timezone, Cores: cores}
	parts := strings.SplitN(info.Version, ".", 3)
	if len(parts) >= 2 {
		info.Major, _ = strconv.Atoi(parts[0])
		info.Minor, _ = strconv.Atoi(parts[1])
	}
	if info.Major == 0 {
		return info, fmt.Errorf("read server version: cannot parse %q", info.Version)
	}
	return info, nil
}

// AtLeast reports whether the server is version major.minor or newer.
func (s ServerInfo) AtLeast(major, minor int) bool {
	return s.Major > major || s.Major == major && s.Minor >= minor
}
