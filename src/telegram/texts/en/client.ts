/** End-user (client) messages: they never see billing words. */

export function userDailyCapReached(): string {
  return "You've reached today's message limit. Please come back tomorrow — thank you for understanding!";
}

export function answerFailed(): string {
  return "Sorry, I can't answer right now. Please try again in a minute.";
}

export function nonTextMessage(): string {
  return "Sorry, I can only read text messages. Please type your question.";
}
