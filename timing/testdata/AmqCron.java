import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;

import org.apache.activemq.broker.scheduler.CronParser;

/**
 * Prints the fires of ActiveMQ cron entries as the broker's job scheduler
 * computes them.
 *
 * Each input line is "entry TAB sentMillis TAB untilMillis TAB latencyMillis".
 * The job's start is the send instant rounded up to the next 500 ms step, as
 * JobSchedulerImpl.doSchedule does; each later fire is computed from the
 * previous fire plus latencyMillis, the delay of the scheduler loop. The
 * output line holds the fire instants up to untilMillis in Unix
 * milliseconds, separated by spaces, or "ERR " and the exception.
 * Run with -Duser.timezone=UTC, as Amazon MQ brokers run.
 */
public final class AmqCron {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, "UTF-8"), 1 << 16);
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t");
            String entry = f[0];
            long sent = Long.parseLong(f[1]);
            long until = Long.parseLong(f[2]);
            long latency = Long.parseLong(f[3]);
            StringBuilder sb = new StringBuilder();
            try {
                long t = CronParser.getNextScheduledTime(entry, (sent + 500) / 500 * 500);
                boolean first = true;
                while (t <= until) {
                    if (!first) {
                        sb.append(' ');
                    }
                    sb.append(t);
                    first = false;
                    t = CronParser.getNextScheduledTime(entry, t + latency);
                }
            } catch (Exception e) {
                sb.setLength(0);
                sb.append("ERR ").append(e.toString().replace('\n', ' '));
            }
            out.write(sb.toString());
            out.write('\n');
        }
        out.flush();
    }
}
