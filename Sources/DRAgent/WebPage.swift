import DRMonitor
import DROperations
import DRStatus
import Foundation

/// The agent's web page: the two regions and their nodes, the lag over the
/// last hour, every alarm, the operations journal, and for an operator with
/// the token a pending plan's details and an Approve button. Pure: HTML from
/// a snapshot, every value escaped. The live part (`live`) is what the page's
/// script fetches again every few seconds; nothing is loaded from elsewhere.
public enum WebPage {
    public struct Snapshot: Sendable {
        public var deployment: String
        public var primaryRegion: String
        public var drRegion: String
        public var report: StatusReport?
        public var lastRound: Date?
        public var alarms: [AlarmEngine.Entry]
        public var history: LagHistory
        public var operations: [OperationSummary]
        /// The replication-lag alarm's threshold, drawn on the chart.
        public var lagThreshold: Double
        /// Whether approval over HTTP is on (agent.tokenFile).
        public var approvals: Bool
        public var now: Date

        public init(deployment: String, primaryRegion: String, drRegion: String, report: StatusReport?, lastRound: Date?,
                    alarms: [AlarmEngine.Entry], history: LagHistory, operations: [OperationSummary], lagThreshold: Double,
                    approvals: Bool, now: Date) {
            self.deployment = deployment
            self.primaryRegion = primaryRegion
            self.drRegion = drRegion
            self.report = report
            self.lastRound = lastRound
            self.alarms = alarms
            self.history = history
            self.operations = operations
            self.lagThreshold = lagThreshold
            self.approvals = approvals
            self.now = now
        }
    }

    public static func page(_ s: Snapshot, nonce: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>pgdr: \(escape(s.deployment))</title>
        <style nonce="\(nonce)">\(style)</style>
        </head>
        <body>
        <header><h1>pgdr <span class="muted">\(escape(s.deployment))</span></h1></header>
        <main>
        <div id="live">\(live(s))</div>
        <section id="operator">
        <h2>Operator</h2>
        \(s.approvals ? """
        <form id="token-form" autocomplete="off">
        <label for="token">Token (agent.tokenFile)</label>
        <input id="token" type="password" autocomplete="off" spellcheck="false">
        <button type="submit">Use token</button>
        </form>
        <p class="muted">The token stays in this tab (session storage) and is sent only to this agent.</p>
        """ : "<p class=\"muted\">Approval over HTTP is off (no agent.tokenFile): approve with <code>pgdr approve ID</code>.</p>")
        <div id="plan" hidden></div>
        <p id="message" role="status"></p>
        </section>
        </main>
        <script nonce="\(nonce)">\(script)</script>
        </body>
        </html>

        """
    }

    /// The part the script refreshes: topology, lag, alarms, operations.
    public static func live(_ s: Snapshot) -> String {
        var html = ""
        let healthy = s.report?.healthy ?? false
        let age = s.lastRound.map { max(0, s.now.timeIntervalSince($0)) }
        html += "<p id=\"round\" class=\"\(healthy ? "ok" : "bad")\">"
            + (s.report == nil ? "no round completed yet"
                : "\(healthy ? "healthy" : "not healthy"), last round \(age.map { String(format: "%.0f", $0) } ?? "?") s ago")
            + "</p>"
        if let problems = s.report?.problems, !problems.isEmpty {
            html += "<ul class=\"problems\">" + problems.map { "<li>\(escape($0.description))</li>" }.joined() + "</ul>"
        }
        html += "<section id=\"topology\"><h2>Regions</h2><div class=\"regions\">"
        for (label, region) in [("primary region", s.primaryRegion), ("DR region", s.drRegion)] {
            html += "<div class=\"region\" data-region=\"\(escape(region))\"><h3>\(escape(region)) <span class=\"muted\">\(label)</span></h3>"
            for node in s.report?.nodes.filter({ $0.region == region }) ?? [] {
                let role = node.reachable ? (node.role?.rawValue ?? "unknown") : "unreachable"
                html += "<div class=\"node \(escape(role))\" data-node=\"\(escape(node.name))\" data-role=\"\(escape(role))\">"
                    + "<strong>\(escape(node.name))</strong> <span class=\"role\">\(escape(role))</span>"
                    + "<div class=\"muted\">\(escape(node.host)):\(node.port)"
                    + (node.role == .standby ? (node.isStreaming ? ", streaming" : ", not streaming") : "")
                    + (node.error.map { ", \(escape($0))" } ?? "") + "</div></div>"
            }
            html += "</div>"
        }
        html += "</div></section>"
        html += lag(s)
        html += "<section id=\"alarms\"><h2>Alarms</h2><table><thead><tr><th>Alarm</th><th>State</th><th>Since</th><th>Reason</th></tr></thead><tbody>"
        for alarm in s.alarms {
            html += "<tr data-alarm=\"\(escape(alarm.name))\" class=\"\(escape(alarm.state.rawValue.lowercased()))\">"
                + "<td title=\"\(escape(alarm.summary))\">\(escape(alarm.name))</td><td>\(escape(alarm.state.rawValue))</td>"
                + "<td>\(escape(time(alarm.since)))</td><td>\(escape(alarm.reason))</td></tr>"
        }
        html += "</tbody></table></section>"
        html += "<section id=\"operations\"><h2>Operations</h2>"
        if s.operations.isEmpty {
            html += "<p class=\"muted\">No operation yet.</p>"
        } else {
            html += "<table><thead><tr><th>Operation</th><th>State</th><th>Started</th><th></th></tr></thead><tbody>"
            for op in s.operations.suffix(20).reversed() {
                let pending = op.next == "pgdr approve \(op.operation)" && op.state.hasPrefix("awaiting approval")
                html += "<tr data-operation=\"\(escape(op.operation))\"><td>\(escape(op.operation))</td><td>\(escape(op.state))</td>"
                    + "<td>\(escape(time(op.startedAt)))</td><td>"
                    + (pending && s.approvals ? "<button type=\"button\" data-review=\"\(escape(op.operation))\">Review and approve</button>" : "")
                    + "</td></tr>"
            }
            html += "</tbody></table>"
        }
        html += "</section>"
        return html
    }

    /// The lag now and an SVG chart of the last hour (gaps where it was unknown).
    static func lag(_ s: Snapshot) -> String {
        let replication = s.report?.replication
        let seconds = replication?.lagSeconds.map { String(format: "%.1f s", $0) } ?? "unknown"
        let bytes = replication?.lagBytes.map { "\($0) bytes" } ?? "unknown"
        let points = s.history.points
        let (width, height) = (600.0, 160.0)
        let top = max(s.lagThreshold * 1.1, points.compactMap(\.seconds).max() ?? 0, 1)
        let start = s.now.addingTimeInterval(-s.history.window)
        var segments: [[String]] = [[]]
        for point in points {
            guard let value = point.seconds else {
                if !(segments.last?.isEmpty ?? true) { segments.append([]) }
                continue
            }
            let x = max(0, point.at.timeIntervalSince(start)) / s.history.window * width
            let y = height - min(value, top) / top * height
            segments[segments.count - 1].append(String(format: "%.1f,%.1f", x, y))
        }
        let lines = segments.filter { !$0.isEmpty }.map {
            "<polyline class=\"lag-line\" fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"\($0.joined(separator: " "))\"/>"
        }.joined()
        let thresholdY = height - min(s.lagThreshold, top) / top * height
        return "<section id=\"lag\"><h2>Replication lag</h2>"
            + "<p><span id=\"lag-seconds\">\(escape(seconds))</span>, <span id=\"lag-bytes\">\(escape(bytes))</span>"
            + (replication.map { " (\(escape($0.primary)) → \(escape($0.standby)), \(escape($0.lagSource.rawValue)))" } ?? "") + "</p>"
            + "<svg id=\"lag-chart\" role=\"img\" aria-label=\"lag over the last hour\" viewBox=\"0 0 \(Int(width)) \(Int(height))\""
            + " preserveAspectRatio=\"none\" data-points=\"\(points.count)\">"
            + "<line x1=\"0\" x2=\"\(Int(width))\" y1=\"\(String(format: "%.1f", thresholdY))\" y2=\"\(String(format: "%.1f", thresholdY))\""
            + " stroke=\"#d1242f\" stroke-dasharray=\"6 4\"/>"
            + lines + "</svg>"
            + "<p class=\"muted\">last hour; dashed: the alarm's threshold (\(String(format: "%.0f", s.lagThreshold)) s); top \(String(format: "%.0f", top)) s</p></section>"
    }

    static func time(_ date: Date) -> String { date.formatted(.iso8601) }

    /// Text and attribute values: & < > " ' escaped.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
        header{background:#24292f;color:#fff;padding:.6em 1em}h1{margin:0;font-size:1.3em}
        main{padding:1em;max-width:1100px;margin:auto}section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;margin:0 0 1em}
        h2{font-size:1.1em;margin:.2em 0 .5em}h3{font-size:1em;margin:.2em 0}.muted{color:#59636e;font-weight:normal}
        .regions{display:flex;gap:1em;flex-wrap:wrap}.region{flex:1 1 260px;border:1px solid #d0d7de;border-radius:6px;padding:.5em}
        .node{border-left:4px solid #8c959f;padding:.3em .6em;margin:.4em 0}.node.primary{border-color:#1a7f37}.node.standby{border-color:#1f6feb}
        .node.unreachable{border-color:#d1242f;background:#fff0f0}.role{text-transform:uppercase;font-size:.8em;letter-spacing:.05em}
        #round.ok{color:#1a7f37}#round.bad{color:#d1242f;font-weight:600}
        svg{width:100%;height:160px;background:#fbfcfd;border:1px solid #eaeef2}
        table{border-collapse:collapse;width:100%;font-size:.92em}th,td{text-align:left;padding:.25em .4em;border-bottom:1px solid #eaeef2;vertical-align:top}
        tr.alarm td{background:#fff0f0}tr.insufficient_data td{color:#59636e}
        section{overflow-x:auto}button{font:inherit;padding:.25em .7em;cursor:pointer}
        #plan{border:2px solid #bf8700;background:#fff8c5;padding:.6em;border-radius:6px;margin:.5em 0}
        #message{font-weight:600}input{font:inherit;padding:.2em;max-width:100%}
        """

    /// Polls `/ui/live`, keeps the token in session storage, and walks an
    /// approval through review, confirmation and the same endpoint `pgdr
    /// approve` uses over HTTP. Text only ever enters the page as text.
    static let script = """
        (function(){
        var live=document.getElementById('live'),plan=document.getElementById('plan'),message=document.getElementById('message');
        function token(){return sessionStorage.getItem('pgdr-token')||'';}
        function say(text,bad){message.textContent=text;message.className=bad?'bad':'';}
        function refresh(){fetch('/ui/live',{cache:'no-store'}).then(function(r){if(!r.ok)throw new Error(r.status);return r.text();})
          .then(function(html){live.innerHTML=html;document.body.dataset.refreshed=String(Date.now());})
          .catch(function(e){say('cannot reach the agent: '+e.message,true);});}
        setInterval(refresh,2000);
        var form=document.getElementById('token-form');
        if(form){form.addEventListener('submit',function(e){e.preventDefault();var input=document.getElementById('token');
          sessionStorage.setItem('pgdr-token',input.value);input.value='';say('token set for this tab');});}
        function row(label,value){var tr=document.createElement('tr'),th=document.createElement('th'),td=document.createElement('td');
          th.textContent=label;td.textContent=value==null?'-':String(value);tr.appendChild(th);tr.appendChild(td);return tr;}
        function review(id){if(!token()){say('enter the token first',true);return;}
          fetch('/ui/operations/'+encodeURIComponent(id),{headers:{'Authorization':'Bearer '+token()},cache:'no-store'})
          .then(function(r){return r.text().then(function(t){if(!r.ok)throw new Error(t.trim()||r.status);return JSON.parse(t);});})
          .then(function(p){plan.textContent='';var h=document.createElement('h3');h.textContent='Approve '+p.kind+' '+p.id+'?';plan.appendChild(h);
            var t=document.createElement('table');t.appendChild(row('from',p.from));t.appendChild(row('to',p.to));
            t.appendChild(row('estimated loss (bytes)',p.estimatedLossBytes));t.appendChild(row('estimated loss (seconds)',p.estimatedLossSeconds));
            t.appendChild(row('old primary reachable',p.oldPrimaryReachable));t.appendChild(row('expires',p.expiresAt));
            t.appendChild(row('warnings',(p.warnings||[]).join('; ')||'none'));plan.appendChild(t);
            var yes=document.createElement('button');yes.type='button';yes.id='confirm';yes.textContent='Confirm: '+p.kind+' to '+p.to;
            var no=document.createElement('button');no.type='button';no.id='cancel';no.textContent='Cancel';
            yes.addEventListener('click',function(){approve(p.id);});no.addEventListener('click',function(){plan.hidden=true;say('not approved');});
            plan.appendChild(yes);plan.appendChild(document.createTextNode(' '));plan.appendChild(no);plan.hidden=false;say('');})
          .catch(function(e){plan.hidden=true;say('refused: '+e.message,true);});}
        function approve(id){say('approving '+id+'…');
          fetch('/operations/'+encodeURIComponent(id)+'/approve',{method:'POST',headers:{'Authorization':'Bearer '+token()}})
          .then(function(r){return r.text().then(function(t){if(!r.ok)throw new Error(t.trim()||r.status);plan.hidden=true;
            var o={};try{o=JSON.parse(t);}catch(e){}say('approved '+id+(o.outcome?': '+o.outcome:''));refresh();});})
          .catch(function(e){say('refused: '+e.message,true);});}
        document.addEventListener('click',function(e){var b=e.target.closest('[data-review]');if(b)review(b.getAttribute('data-review'));});
        })();
        """
}
