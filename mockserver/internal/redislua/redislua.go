// Package redislua holds the Lua scripts of mockserver's Redis store.
// Each script runs atomically in Redis, so that replicas sharing the
// store see one state: a poll advances its task's script exactly once,
// whichever replica it reaches. Every script begins with lib.lua (the
// scenario engine, the clock and the key names); [Source] joins them.
package redislua

import (
	"embed"
)

//go:embed *.lua
var files embed.FS

// Source returns the script name (such as "poll") preceded by lib.lua.
// It panics on a name that has no file, which is a bug of the caller.
func Source(name string) string {
	lib, err := files.ReadFile("lib.lua")
	if err != nil {
		panic(err)
	}
	body, err := files.ReadFile(name + ".lua")
	if err != nil {
		panic("redislua: no script " + name)
	}
	return string(lib) + "\n" + string(body)
}
