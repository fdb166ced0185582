package mockserver

// The Server's side of the Redis store: opening it in New, and what the
// admin API says of it.

// openSharedStore opens the store WithStore names and makes the server
// one replica of the fleet that shares it: the fleet's clock, its secret
// for file URLs, its waiters and its event stream.
func (s *Server) openSharedStore(scfg storeConfig) error {
	scfg.remote = func(kind string, msg []byte) { s.bus.local(msg) }
	rs, err := openRedisStore(s.cfg.store, scfg, redisHooks{clock: s.cfg.clock, log: s.log, elsewhere: &s.bus.elsewhere})
	if err != nil {
		return err
	}
	s.store = rs
	s.clock = rs.clock()
	s.secret = rs.fleetSecret()
	s.bus.watch = rs.listen
	return nil
}

// storeInfo is what the admin API's health adds for a shared store: its
// URL (the password redacted) and how many replicas share it.
func (s *Server) storeInfo() map[string]any {
	if rs, ok := s.store.(*redisStore); ok {
		return rs.describe()
	}
	return nil
}
