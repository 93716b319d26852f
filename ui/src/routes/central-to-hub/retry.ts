// What a retry of a Central → Hub migration would do, in counts, from its report: the devices
// Central can reach again (no answer, answered with an error, the job ended first), and those
// whose firmware lacks DeviceMove — left out unless the person asks for them, since they answer
// 501 again until their firmware is updated. The same codes as core's retry_failed.
import type { Report } from "../../lib/bindings";

const REACHABLE = ["noAnswer", "commandError", "jobEnded"];
const NO_DEVICE_MOVE = "noDeviceMove";

export type RetryPlan = { offered: boolean; devices: number; noDeviceMove: number; jobs: number; title: string };

export function retryPlan(report: Report, includeNoDeviceMove: boolean): RetryPlan {
  const count = (codes: string[]) => Object.entries(report.byReason).filter(([code]) => codes.includes(code)).reduce((n, [, c]) => n + c, 0);
  const reachable = count(REACHABLE);
  const noDeviceMove = count([NO_DEVICE_MOVE]);
  const devices = reachable + (includeNoDeviceMove ? noDeviceMove : 0);
  const jobs = report.steps.filter((s) => s.key.startsWith("job:") && s.outcome !== null).length;
  const title = `Send DeviceMove again to ${devices} device${devices === 1 ? "" : "s"} in ${jobs} job${jobs === 1 ? "" : "s"}?`;
  return { offered: reachable + noDeviceMove > 0, devices, noDeviceMove, jobs, title };
}
