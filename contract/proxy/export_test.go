package proxy

// ScenarioName names the recording of a task id no request can poll
// through the proxy, such as "..".
func ScenarioName(id string) string { return scenarioName(id, id) }
